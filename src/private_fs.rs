//! Files and directories only their owner may read, as the kubelet and etcd keep theirs:
//! the data directory holds Secrets in env vars, tokens, logs and trusted native code.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// `create_dir_all` whose new directories are 0700.
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(path)
}

/// [`create_dir_all`], and the directory itself made 0700 even if it existed (an older
/// version, or another tool, may have left it open to all).
pub fn ensure_dir(path: &Path) -> io::Result<()> {
    create_dir_all(path)?;
    std::fs::set_permissions(path, Permissions::from_mode(0o700))
}

/// Creates (or truncates) a file that is 0600 from its first byte.
pub fn create_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// Makes an existing file 0600.
pub fn restrict(path: &Path) -> io::Result<()> {
    std::fs::set_permissions(path, Permissions::from_mode(0o600))
}
