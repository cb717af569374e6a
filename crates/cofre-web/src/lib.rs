//! The cofre web vault, seen from Rust.
//!
//! The web vault itself is TypeScript in `web/` at the repository root: cofre's formats
//! (`docs/FORMAT.md`) on WebCrypto, bundled with esbuild by the project's own
//! `web/package.json`. This crate is its Rust side:
//!
//! - [`bundle`] installs the locked npm packages and builds the bundle into a folder
//!   outside the source tree (`npm ci`, `tsc --noEmit`, `node build.mjs`), and reads the
//!   SHA-256 of each file the build reports;
//! - [`serve`] serves a set of files on a loopback port over plain HTTP, which is how
//!   the tests hand the bundle and `docs/vectors/` to a headless Chromium.
//!
//! `tests/browser_vectors.rs` runs every vector of `docs/vectors/` through the bundle
//! in Debian's Chromium. Serving the web vault from `cofre server` comes later.

pub mod bundle;
pub mod serve;
