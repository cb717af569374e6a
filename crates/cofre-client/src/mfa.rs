//! TOTP enrolment and management.

use cofre_api::SecretString;
use cofre_api::mfa::{CodeRequest, EnrollResponse, MfaStatus, RecoveryCodes};
use reqwest::Method;

use crate::Client;
use crate::error::Result;

impl Client {
    /// MFA status.
    pub async fn mfa_status(&self, access: &SecretString) -> Result<MfaStatus> {
        self.call::<(), _>(Method::GET, "/mfa", Some(access), None)
            .await
    }

    /// Starts TOTP enrolment: a new secret, active only after [`Client::mfa_confirm`].
    pub async fn mfa_enroll(&self, access: &SecretString) -> Result<EnrollResponse> {
        self.call::<(), _>(Method::POST, "/mfa/totp/enroll", Some(access), None)
            .await
    }

    /// Confirms enrolment with a current code; returns the one-time recovery codes.
    pub async fn mfa_confirm(&self, access: &SecretString, code: &str) -> Result<RecoveryCodes> {
        let req = CodeRequest {
            code: SecretString::new(code),
        };
        self.call(Method::POST, "/mfa/totp/confirm", Some(access), Some(&req))
            .await
    }

    /// Disables TOTP (needs a current code).
    pub async fn mfa_disable(&self, access: &SecretString, code: &str) -> Result<()> {
        let req = CodeRequest {
            code: SecretString::new(code),
        };
        self.call_empty(Method::POST, "/mfa/totp/disable", Some(access), Some(&req))
            .await
    }

    /// Replaces the recovery codes (needs a current code).
    pub async fn mfa_recovery_codes(
        &self,
        access: &SecretString,
        code: &str,
    ) -> Result<RecoveryCodes> {
        let req = CodeRequest {
            code: SecretString::new(code),
        };
        self.call(
            Method::POST,
            "/mfa/recovery-codes",
            Some(access),
            Some(&req),
        )
        .await
    }
}
