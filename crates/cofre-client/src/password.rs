//! Password strength: a minimum length and a minimum zxcvbn score, both published by
//! the server (NIST SP 800-63B: no composition rules).

use cofre_api::auth::Policy;
use cofre_core::secret::Password;

use crate::ClientError;

/// Refuses a password shorter than the policy's minimum or scoring below its minimum,
/// with a reason a person can act on. `user_inputs` (the username...) count as known.
pub fn check(
    password: &Password,
    policy: &Policy,
    user_inputs: &[&str],
) -> Result<(), ClientError> {
    let len = password.char_count();
    if len < policy.password_min_length {
        return Err(ClientError::WeakPassword(format!(
            "it has {len} characters; at least {} are required",
            policy.password_min_length
        )));
    }
    let estimate = zxcvbn::zxcvbn(password.expose_str(), user_inputs);
    let score = u8::from(estimate.score());
    if score < policy.password_min_score {
        let mut reason = format!(
            "it is too easy to guess (strength {score} of 4, at least {} required)",
            policy.password_min_score
        );
        if let Some(f) = estimate.feedback() {
            if let Some(w) = f.warning() {
                reason.push_str(&format!(": {w}"));
            }
            for s in f.suggestions() {
                reason.push_str(&format!(". {s}"));
            }
        }
        return Err(ClientError::WeakPassword(reason));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            password_min_length: 12,
            password_min_score: 3,
            open_registration: true,
            mfa_required: false,
            invite_required: false,
            kdf: cofre_core::keys::KdfParams::default(),
        }
    }

    #[test]
    fn refuses_short_and_guessable_accepts_strong() {
        let e = check(&Password::new("short"), &policy(), &[]).unwrap_err();
        assert!(e.to_string().contains("at least 12"), "{e}");
        let e = check(&Password::new("password1234"), &policy(), &[]).unwrap_err();
        assert!(e.to_string().contains("too easy to guess"), "{e}");
        let e = check(&Password::new("alicealice12"), &policy(), &["alice"]).unwrap_err();
        assert!(e.to_string().contains("too easy"), "{e}");
        check(
            &Password::new("correct horse battery staple 7"),
            &policy(),
            &[],
        )
        .unwrap();
    }
}
