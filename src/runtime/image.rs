//! Image references and the compiled-module cache.
//!
//! An image is a `.wasm` file, optionally pinned as `path@sha256:<hex>`. Modules are
//! compiled once per content digest: in memory for the life of the process, and as
//! precompiled artefacts under the cache directory so that a restart does not recompile.
//!
//! An artefact is native code wasmtime runs without checking it, so each one carries an
//! HMAC-SHA256 tag, under a key kept in the cache directory (mode 0600), over the engine's
//! compatibility tag, the module's content digest and the artefact's bytes. An artefact
//! changed by anyone without the key, or swapped for another module's, is refused and
//! recompiled.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use wasmtime::component::Component;
use wasmtime::{Engine, InstancePre, Module};
use wasmtime_wasi::p2::bindings::CommandPre;

use super::Error;
use super::engine::Shared;
use super::wasi::{P1State, P2State};

/// A resolved image: the module file and an optional pinned digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// The `.wasm` (or `.wat`) file.
    pub path: PathBuf,
    /// Lowercase hex sha256 the file must have, from an `@sha256:` suffix.
    pub digest: Option<String>,
}

/// Splits `name@sha256:<hex>` and resolves `name` against `base`.
///
/// ```
/// use std::path::Path;
/// let pin = format!("pi.wasm@sha256:{}", "AB".repeat(32));
/// let r = wasmjob::runtime::parse_image_ref(&pin, Path::new("/jobs")).unwrap();
/// assert_eq!(r.path, Path::new("/jobs/pi.wasm"));
/// assert_eq!(r.digest, Some("ab".repeat(32)));
/// ```
pub fn parse_image_ref(image: &str, base: &Path) -> Result<ImageRef, String> {
    let (name, digest) = match image.split_once('@') {
        Some((name, pin)) => {
            let hex = pin
                .strip_prefix("sha256:")
                .ok_or_else(|| format!("unsupported digest {pin:?}: only sha256 is supported"))?;
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!(
                    "invalid digest {pin:?}: sha256 takes 64 hexadecimal characters"
                ));
            }
            (name, Some(hex.to_ascii_lowercase()))
        }
        None => (image, None),
    };
    if name.is_empty() {
        return Err("image name is empty".into());
    }
    Ok(ImageRef {
        path: base.join(name),
        digest,
    })
}

/// A module ready to instantiate, of either kind.
#[derive(Clone)]
pub(super) enum Compiled {
    /// A WASI preview1 core module.
    Core(InstancePre<P1State>),
    /// A WASI preview2 command component, and the pool slots one instance of it takes.
    Component(CommandPre<P2State>, u32),
}

impl Compiled {
    /// Pool slots one guest takes: one per linear memory (a slot holds one), and enough
    /// for its tables; a core module takes one.
    pub fn slots(&self) -> u32 {
        match self {
            Compiled::Core(_) => 1,
            Compiled::Component(_, slots) => *slots,
        }
    }
}

type FileKey = (PathBuf, u64, Option<SystemTime>);

pub(super) struct ModuleCache {
    /// The artefact directory and the key that signs its files; `None`: memory only.
    dir: Option<(PathBuf, ArtefactKey)>,
    engine_tag: String,
    /// File identity → content digest, so an unchanged file is not hashed on every start.
    digests: Mutex<HashMap<FileKey, String>>,
    /// Content digest → compiled module; the cell makes concurrent starts compile once.
    compiled: Mutex<HashMap<String, Arc<OnceCell<Compiled>>>>,
}

impl ModuleCache {
    pub fn new(dir: Option<PathBuf>, engine: &Engine) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let dir = dir.and_then(|d| match ArtefactKey::load_or_create(&d) {
            Ok(key) => Some((d, key)),
            Err(e) => {
                tracing::warn!(dir = %d.display(), error = %e, "precompiled modules will not be cached on disk");
                None
            }
        });
        ModuleCache {
            dir,
            engine_tag: format!("{:016x}", h.finish()),
            digests: Mutex::new(HashMap::new()),
            compiled: Mutex::new(HashMap::new()),
        }
    }

    fn artefact(&self, digest: &str) -> Option<Artefact> {
        self.dir.as_ref().map(|(d, key)| Artefact {
            path: d.join(format!("{digest}-{}.cwasm", self.engine_tag)),
            key: key.clone(),
            context: format!("{}/{digest}", self.engine_tag),
        })
    }
}

/// The key that signs the artefacts of one cache directory.
#[derive(Clone)]
struct ArtefactKey([u8; 32]);

impl ArtefactKey {
    const FILE: &'static str = "artefact.key";

    /// Reads the directory's key, or makes one. Concurrent processes agree: the new key is
    /// linked into place only if none is there yet.
    fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        crate::private_fs::ensure_dir(dir)?;
        let path = dir.join(Self::FILE);
        let read = |path: &Path| -> std::io::Result<Self> {
            let bytes = std::fs::read(path)?;
            <[u8; 32]>::try_from(bytes.as_slice())
                .map(ArtefactKey)
                .map_err(|_| {
                    std::io::Error::other(format!("{} is not a 32-byte key", path.display()))
                })
        };
        match read(&path) {
            Ok(key) => return Ok(key),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            Err(_) => {}
        }
        let key: [u8; 32] = rand::random();
        let tmp = dir.join(format!(".{}.{}", Self::FILE, std::process::id()));
        {
            use std::io::Write;
            let mut f = crate::private_fs::create_file(&tmp)?;
            f.write_all(&key)?;
            f.sync_all()?;
        }
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(ArtefactKey(key)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(&path),
            Err(e) => Err(e),
        }
    }

    fn mac(&self, context: &str, bytes: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("any key length");
        mac.update(&(context.len() as u64).to_le_bytes());
        mac.update(context.as_bytes());
        mac.update(bytes);
        mac
    }
}

/// Where one module's artefact lives and how it is signed.
struct Artefact {
    path: PathBuf,
    key: ArtefactKey,
    /// Engine tag and content digest: a valid artefact of another module does not verify.
    context: String,
}

/// Length of the tag at the start of an artefact file.
const TAG_LEN: usize = 32;

/// Finds the compiled form of `image`, compiling it at most once per digest.
/// What the node knows of an image once it is pulled: its content digest (the
/// container status's `imageID`) and its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// Lowercase hex sha256 of the module file.
    pub digest: String,
    /// The file's size in bytes.
    pub size: u64,
}

pub(super) async fn load(shared: &Shared, image: &ImageRef) -> Result<Compiled, Error> {
    load_identified(shared, image).await.map(|(c, _)| c)
}

/// [`load`], with the image's digest and size.
pub(super) async fn load_identified(
    shared: &Shared,
    image: &ImageRef,
) -> Result<(Compiled, ImageInfo), Error> {
    let unreadable = |source| Error::ImageUnreadable {
        path: image.path.clone(),
        cause: source,
    };
    // A plain stat, not `tokio::fs`: it takes microseconds, while a hop to the blocking
    // pool and back costs two thread wake-ups on every pod start.
    let meta = std::fs::metadata(&image.path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(unreadable(std::io::Error::other("not a regular file")));
    }
    let key: FileKey = (image.path.clone(), meta.len(), meta.modified().ok());
    let known = shared
        .modules
        .digests
        .lock()
        .expect("poisoned")
        .get(&key)
        .cloned();
    let (digest, mut bytes) = match known {
        Some(d) => (d, None),
        None => {
            let bytes = tokio::fs::read(&image.path).await.map_err(unreadable)?;
            let d = hex::encode(Sha256::digest(&bytes));
            shared
                .modules
                .digests
                .lock()
                .expect("poisoned")
                .insert(key, d.clone());
            (d, Some(bytes))
        }
    };
    if let Some(expected) = &image.digest
        && *expected != digest
    {
        return Err(Error::DigestMismatch {
            path: image.path.clone(),
            expected: expected.clone(),
            actual: digest,
        });
    }
    let cell = shared
        .modules
        .compiled
        .lock()
        .expect("poisoned")
        .entry(digest.clone())
        .or_default()
        .clone();
    let compiled = cell
        .get_or_try_init(|| async {
            let bytes = match bytes.take() {
                Some(b) => b,
                None => tokio::fs::read(&image.path).await.map_err(unreadable)?,
            };
            compile(shared, &image.path, &digest, bytes).await
        })
        .await?;
    let info = ImageInfo {
        digest,
        size: meta.len(),
    };
    Ok((compiled.clone(), info))
}

async fn compile(
    shared: &Shared,
    path: &Path,
    digest: &str,
    bytes: Vec<u8>,
) -> Result<Compiled, Error> {
    let invalid = |e: wasmtime::Error| Error::InvalidModule {
        path: path.to_path_buf(),
        message: format!("{e:#}"),
    };
    let engine = shared.engine.clone();
    let artefact = shared.modules.artefact(digest);
    let component = is_component(&bytes);
    let loaded = tokio::task::spawn_blocking(move || -> Result<Loaded, wasmtime::Error> {
        if let Some(cached) = artefact
            .as_ref()
            .and_then(|a| load_artefact(&engine, a, component))
        {
            return Ok(cached);
        }
        let loaded = if component {
            Loaded::Component(Component::new(&engine, &bytes)?)
        } else {
            Loaded::Core(Module::new(&engine, &bytes)?)
        };
        if let Some(a) = artefact.as_ref() {
            store_artefact(&loaded, a);
        }
        Ok(loaded)
    })
    .await
    .map_err(|e| Error::InvalidModule {
        path: path.to_path_buf(),
        message: format!("compilation did not finish: {e}"),
    })?
    .map_err(invalid)?;

    let instantiate = |e: wasmtime::Error| Error::Instantiate {
        path: path.to_path_buf(),
        message: format!("{e:#}"),
    };
    Ok(match loaded {
        Loaded::Core(module) => Compiled::Core(
            shared
                .p1_linker
                .instantiate_pre(&module)
                .map_err(instantiate)?,
        ),
        Loaded::Component(component) => {
            let slots = component.resources_required().map_or(1, |r| {
                r.num_memories
                    .max(
                        r.num_tables
                            .div_ceil(super::engine::CORE_INSTANCES_PER_GUEST),
                    )
                    .max(1)
            });
            let pre = shared
                .p2_linker
                .instantiate_pre(&component)
                .map_err(instantiate)?;
            Compiled::Component(CommandPre::new(pre).map_err(instantiate)?, slots)
        }
    })
}

enum Loaded {
    Core(Module),
    Component(Component),
}

/// Tells a component from a core module by the binary header's version/layer field, or by
/// the leading form of the text format.
fn is_component(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\0asm") {
        return bytes.get(6..8) == Some(&[1, 0]);
    }
    String::from_utf8_lossy(&bytes[..bytes.len().min(4096)])
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with(";;"))
        .is_some_and(|l| l.starts_with("(component"))
}

fn load_artefact(engine: &Engine, artefact: &Artefact, component: bool) -> Option<Loaded> {
    let path = &artefact.path;
    // Read into memory rather than `deserialize_file`, which maps the file: a mapped
    // artefact truncated or rewritten in place by anyone would crash the process (SIGBUS).
    let file = std::fs::read(path).ok()?;
    let discard = |why: &str| {
        tracing::warn!(path = %path.display(), error = why, "discarding unusable precompiled module");
        let _ = std::fs::remove_file(path);
        None
    };
    if file.len() < TAG_LEN {
        return discard("shorter than its tag");
    }
    let (tag, bytes) = file.split_at(TAG_LEN);
    if artefact
        .key
        .mac(&artefact.context, bytes)
        .verify_slice(tag)
        .is_err()
    {
        return discard(
            "its tag does not verify: it was not written by this cache for this module",
        );
    }
    // SAFETY: deserialising runs no guest code, but wasmtime trusts the artefact's machine
    // code. These bytes were written by `store_artefact` below from a module this engine
    // compiled: their HMAC tag, under the cache's private key, binds them to this engine
    // and this module's content digest, and verified above (in constant time). wasmtime
    // still checks the header and the engine settings and returns an error for anything
    // else.
    #[allow(unsafe_code)]
    let loaded = unsafe {
        if component {
            Component::deserialize(engine, bytes).map(Loaded::Component)
        } else {
            Module::deserialize(engine, bytes).map(Loaded::Core)
        }
    };
    match loaded {
        Ok(l) => Some(l),
        Err(e) => discard(&format!("{e:#}")),
    }
}

fn store_artefact(loaded: &Loaded, artefact: &Artefact) {
    let path = &artefact.path;
    let bytes = match loaded {
        Loaded::Core(m) => m.serialize(),
        Loaded::Component(c) => c.serialize(),
    };
    let result = bytes.map_err(std::io::Error::other).and_then(|bytes| {
        use std::io::Write;
        let tag = artefact
            .key
            .mac(&artefact.context, &bytes)
            .finalize()
            .into_bytes();
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut f = crate::private_fs::create_file(&tmp)?;
        f.write_all(&tag)?;
        f.write_all(&bytes)?;
        drop(f);
        std::fs::rename(&tmp, path)
    });
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "could not cache the precompiled module");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_without_pin_resolves_against_the_base_directory() {
        let r = parse_image_ref("guests/pi.wasm", Path::new("/m")).unwrap();
        assert_eq!(r.path, PathBuf::from("/m/guests/pi.wasm"));
        assert_eq!(r.digest, None);
    }

    #[test]
    fn image_pins_must_be_sha256_with_64_hex_digits() {
        assert!(parse_image_ref("a.wasm@md5:00", Path::new("/")).is_err());
        assert!(parse_image_ref("a.wasm@sha256:00", Path::new("/")).is_err());
        let ok = format!("a.wasm@sha256:{}", "A".repeat(64));
        assert_eq!(
            parse_image_ref(&ok, Path::new("/")).unwrap().digest,
            Some("a".repeat(64))
        );
        assert!(parse_image_ref("@sha256:00", Path::new("/")).is_err());
    }

    #[test]
    fn components_are_told_from_core_modules() {
        assert!(!is_component(b"\0asm\x01\0\0\0"));
        assert!(is_component(b"\0asm\x0d\0\x01\0"));
        assert!(is_component(b";; a test\n(component)"));
        assert!(!is_component(b"(module)"));
    }
}
