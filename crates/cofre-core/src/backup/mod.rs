//! Backups of a server (docs/FORMAT.md section 13): the archive's binary layout and
//! signed manifest ([`archive`]) and the passphrase-protected backup key pair
//! ([`key_file`]). Reading and writing files is the server's job; this module only
//! encodes, checks and binds.

pub mod archive;
pub mod key_file;

pub use archive::{Compression, Counts, FileEntry, Header, Manifest, Trailer};
pub use key_file::BackupKeyFile;
