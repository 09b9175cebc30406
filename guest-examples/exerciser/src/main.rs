//! A test guest whose behaviour is given on the command line: each argument is one step,
//! `name` or `name=value`, run in order, so a Job's `args:` list reads as a script.
//!
//! All steps are parsed before any runs, so a typo fails the Pod at once (exit 2) instead
//! of after half the side effects. Exit codes: 0 after the last step, 2 for bad steps,
//! 3 for file errors, and whatever `exit`-like steps ask for.

use std::fs::{self, File, OpenOptions};
use std::hint::black_box;
use std::io::{self, ErrorKind, Write};
use std::time::{Duration, Instant};

const USAGE: &str = "\
steps (one argument each, run in order):
  print=TEXT  eprint=TEXT  exit=N  sleep-ms=N  alloc-mib=N  busy-loop  busy-ms=N
  write=PATH:TEXT  append=PATH:TEXT  read=PATH  ls=DIR  fail-until=PATH:K
  exit-if-index=I:N  exit-index-plus=B  env=NAME  args  print-bytes=N
  trap  stack-overflow  cwd  try-open=PATH  fill-mib=PATH:N  touch=DIR:N";

#[derive(Debug)]
enum Step {
    Print(String),
    Eprint(String),
    Exit(u8),
    SleepMs(u64),
    AllocMib(usize),
    BusyLoop,
    BusyMs(u64),
    Write { path: String, text: String },
    Append { path: String, text: String },
    Read(String),
    Ls(String),
    FailUntil { path: String, until: u64 },
    ExitIfIndex { index: u32, code: u8 },
    ExitIndexPlus(u8),
    Env(String),
    Args,
    PrintBytes(u64),
    Trap,
    StackOverflow,
    Cwd,
    TryOpen(String),
    FillMib { path: String, mib: u64 },
    Touch { dir: String, count: u64 },
}

fn parse_num<T: std::str::FromStr>(step: &str, what: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{step}: {what} must be a non-negative integer, got {text:?}"))
}

/// Exit codes are limited to 0..=255 as on Linux. Note that wasmtime's WASI p1 `proc_exit`
/// itself rejects codes >= 126 with an error instead of exiting; tests can use that.
fn parse_code(step: &str, text: &str) -> Result<u8, String> {
    parse_num(step, "the exit code (0..=255)", text)
}

/// Splits `PATH:TEXT` at the first colon: texts are likelier to contain colons than paths.
fn split_path_text<'a>(step: &str, value: &'a str) -> Result<(&'a str, &'a str), String> {
    value
        .split_once(':')
        .ok_or_else(|| format!("{step}: expected PATH:TEXT, got {value:?}"))
}

fn parse_step(arg: &str) -> Result<Step, String> {
    let (name, value) = match arg.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (arg, None),
    };
    let step = match (name, value) {
        ("busy-loop", None) => Step::BusyLoop,
        ("args", None) => Step::Args,
        ("trap", None) => Step::Trap,
        ("stack-overflow", None) => Step::StackOverflow,
        ("cwd", None) => Step::Cwd,
        ("busy-loop" | "args" | "trap" | "stack-overflow" | "cwd", Some(_)) => {
            return Err(format!("step {name:?} takes no value, got {arg:?}"));
        }
        (_, None) => {
            return Err(format!(
                "unknown step {arg:?} (or it needs =VALUE)\n{USAGE}"
            ));
        }
        ("print", Some(v)) => Step::Print(v.into()),
        ("eprint", Some(v)) => Step::Eprint(v.into()),
        ("exit", Some(v)) => Step::Exit(parse_code(name, v)?),
        ("sleep-ms", Some(v)) => Step::SleepMs(parse_num(name, "N", v)?),
        ("alloc-mib", Some(v)) => Step::AllocMib(parse_num(name, "N", v)?),
        ("busy-ms", Some(v)) => Step::BusyMs(parse_num(name, "N", v)?),
        ("write", Some(v)) => {
            let (path, text) = split_path_text(name, v)?;
            Step::Write {
                path: path.into(),
                text: text.into(),
            }
        }
        ("append", Some(v)) => {
            let (path, text) = split_path_text(name, v)?;
            Step::Append {
                path: path.into(),
                text: text.into(),
            }
        }
        ("read", Some(v)) => Step::Read(v.into()),
        ("ls", Some(v)) => Step::Ls(v.into()),
        ("fail-until", Some(v)) => {
            // The count is last, so split at the last colon and let the path keep any.
            let (path, until) = v
                .rsplit_once(':')
                .ok_or_else(|| format!("{name}: expected PATH:K, got {v:?}"))?;
            Step::FailUntil {
                path: path.into(),
                until: parse_num(name, "K", until)?,
            }
        }
        ("exit-if-index", Some(v)) => {
            let (index, code) = v
                .split_once(':')
                .ok_or_else(|| format!("{name}: expected I:N, got {v:?}"))?;
            Step::ExitIfIndex {
                index: parse_num(name, "I", index)?,
                code: parse_code(name, code)?,
            }
        }
        ("exit-index-plus", Some(v)) => Step::ExitIndexPlus(parse_code(name, v)?),
        ("env", Some(v)) => Step::Env(v.into()),
        ("print-bytes", Some(v)) => Step::PrintBytes(parse_num(name, "N", v)?),
        ("try-open", Some(v)) => Step::TryOpen(v.into()),
        ("fill-mib", Some(v)) => {
            let (path, n) = split_path_text(name, v)?;
            Step::FillMib {
                path: path.into(),
                mib: parse_num(name, "N", n)?,
            }
        }
        ("touch", Some(v)) => {
            let (dir, n) = split_path_text(name, v)?;
            Step::Touch {
                dir: dir.into(),
                count: parse_num(name, "N", n)?,
            }
        }
        (_, Some(_)) => return Err(format!("unknown step {name:?} in {arg:?}\n{USAGE}")),
    };
    Ok(step)
}

/// Output errors are ignored: a guest whose stdout is gone should still run its later
/// steps (exit codes, files) so the test can see them.
fn out(bytes: &[u8]) {
    let _ = io::stdout().lock().write_all(bytes);
}

fn outln(text: &str) {
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.write_all(b"\n");
}

/// `process::exit` skips destructors, so flush buffered stdout or a partial line is lost.
fn exit(code: i32) -> ! {
    let _ = io::stdout().flush();
    std::process::exit(code)
}

fn fail(code: i32, msg: &str) -> ! {
    let _ = io::stdout().flush();
    eprintln!("exerciser: {msg}");
    exit(code)
}

/// JOB_COMPLETION_INDEX as Kubernetes sets it for Indexed Jobs; garbage there is a host bug
/// worth failing loudly on rather than reading as "no index".
fn completion_index() -> Option<u32> {
    let value = std::env::var_os("JOB_COMPLETION_INDEX")?;
    let text = value.to_string_lossy();
    match text.parse() {
        Ok(index) => Some(index),
        Err(_) => fail(
            2,
            &format!("JOB_COMPLETION_INDEX is not an index: {text:?}"),
        ),
    }
}

fn alloc_mib(mib: usize) {
    let Some(bytes) = mib.checked_mul(1 << 20) else {
        fail(
            2,
            &format!("alloc-mib={mib} does not fit in this address space"),
        );
    };
    // A failed allocation aborts (a trap under wasm), which is the OOM the tests expect.
    let mut block = vec![0u8; bytes];
    // Fresh zeroed memory may be mapped lazily (calloc natively), so write to each page to
    // make it count against the memory limit; black_box keeps the writes from being elided.
    for i in (0..bytes).step_by(4096) {
        block[i] = 1;
    }
    black_box(&mut block);
    // Leaked so that later steps run with the memory still in use.
    block.leak();
}

fn busy_loop() -> ! {
    let mut n = 0u64;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn busy_ms(ms: u64) {
    let end = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < end {
        black_box(());
    }
}

fn write_file(path: &str, text: &str, append: bool) {
    let result = OpenOptions::new()
        .write(true)
        .create(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = result {
        fail(
            3,
            &format!("{} {path}: {e}", if append { "append" } else { "write" }),
        );
    }
}

fn read_file(path: &str) {
    match fs::read(path) {
        Ok(content) => out(&content),
        Err(e) => fail(3, &format!("read {path}: {e}")),
    }
}

fn ls(dir: &str) {
    let names: io::Result<Vec<String>> = fs::read_dir(dir).and_then(|entries| {
        entries
            .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect()
    });
    match names {
        Ok(mut names) => {
            names.sort();
            for name in names {
                outln(&name);
            }
        }
        Err(e) => fail(3, &format!("ls {dir}: {e}")),
    }
}

fn fail_until(path: &str, until: u64) {
    let previous = match fs::read_to_string(path) {
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(n) => n,
            Err(_) => fail(3, &format!("fail-until {path}: not a counter: {text:?}")),
        },
        Err(e) if e.kind() == ErrorKind::NotFound => 0,
        Err(e) => fail(3, &format!("fail-until {path}: {e}")),
    };
    let attempt = previous + 1;
    if let Err(e) = fs::write(path, format!("{attempt}\n")) {
        fail(3, &format!("fail-until {path}: {e}"));
    }
    if attempt < until {
        eprintln!("attempt {attempt} of {until}: failing");
        exit(1);
    }
    outln(&format!("attempt {attempt}: succeeding"));
}

/// Writes exactly `n` bytes as 64-byte lines; big writes keep hundreds of MiB cheap.
fn print_bytes(mut n: u64) {
    const LINE: usize = 64;
    let mut chunk = vec![b'x'; LINE * 1024];
    for line in chunk.chunks_mut(LINE) {
        line[LINE - 1] = b'\n';
    }
    let mut stdout = io::stdout().lock();
    while n > 0 {
        let len = usize::try_from(n).map_or(chunk.len(), |n| n.min(chunk.len()));
        // A log cap may close or fail the stream; stop writing but carry on with the steps.
        if stdout.write_all(&chunk[..len]).is_err() {
            return;
        }
        n -= len as u64;
    }
    let _ = stdout.flush();
}

fn trap() -> ! {
    let _ = io::stdout().flush();
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}

/// black_box on the argument and the result keeps the optimiser from proving the
/// recursion endless or rewriting it as a loop, so every call really takes a frame.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return depth;
    }
    black_box(recurse(black_box(depth + 1)))
}

fn run(step: &Step, argv: &[String]) {
    match step {
        Step::Print(text) => outln(text),
        Step::Eprint(text) => eprintln!("{text}"),
        Step::Exit(code) => exit(i32::from(*code)),
        Step::SleepMs(ms) => std::thread::sleep(Duration::from_millis(*ms)),
        Step::AllocMib(mib) => alloc_mib(*mib),
        Step::BusyLoop => busy_loop(),
        Step::BusyMs(ms) => busy_ms(*ms),
        Step::Write { path, text } => write_file(path, text, false),
        Step::Append { path, text } => write_file(path, text, true),
        Step::Read(path) => read_file(path),
        Step::Ls(dir) => ls(dir),
        Step::FailUntil { path, until } => fail_until(path, *until),
        Step::ExitIfIndex { index, code } => {
            if completion_index() == Some(*index) {
                exit(i32::from(*code));
            }
        }
        Step::ExitIndexPlus(base) => {
            let code = u32::from(*base) + completion_index().unwrap_or(0);
            match u8::try_from(code) {
                Ok(code) => exit(i32::from(code)),
                Err(_) => fail(2, &format!("exit-index-plus: exit code {code} is over 255")),
            }
        }
        Step::Env(name) => match std::env::var_os(name) {
            Some(value) => outln(&format!("{name}={}", value.to_string_lossy())),
            None => outln(&format!("{name} is not set")),
        },
        Step::Args => {
            for (i, arg) in argv.iter().enumerate() {
                outln(&format!("{i}: {arg}"));
            }
        }
        Step::PrintBytes(n) => print_bytes(*n),
        Step::Trap => trap(),
        Step::StackOverflow => {
            recurse(black_box(0));
        }
        Step::Cwd => match std::env::current_dir() {
            Ok(dir) => outln(&dir.display().to_string()),
            Err(e) => fail(3, &format!("cwd: {e}")),
        },
        Step::TryOpen(path) => match File::open(path) {
            Ok(_) => outln(&format!("open {path}: ok")),
            Err(e) => outln(&format!("open {path}: denied ({e})")),
        },
        // Writes N MiB (non-zero bytes, so no filesystem can keep them sparse).
        Step::FillMib { path, mib } => {
            let chunk = vec![0x5au8; 1 << 20];
            let mut f =
                File::create(path).unwrap_or_else(|e| fail(3, &format!("fill-mib {path}: {e}")));
            for _ in 0..*mib {
                if let Err(e) = f.write_all(&chunk) {
                    fail(3, &format!("fill-mib {path}: {e}"));
                }
            }
        }
        // Creates N empty files in DIR.
        Step::Touch { dir, count } => {
            for i in 0..*count {
                if let Err(e) = File::create(format!("{dir}/f{i}")) {
                    fail(3, &format!("touch {dir}/f{i}: {e}"));
                }
            }
        }
    }
    // Flushed per step so output is visible before a later trap, abort or endless loop.
    let _ = io::stdout().flush();
}

fn main() {
    // args_os, because env::args panics on arguments that are not UTF-8.
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut steps = Vec::new();
    for (raw, arg) in std::env::args_os().zip(&argv).skip(1) {
        if raw.to_str().is_none() {
            fail(2, &format!("argument is not UTF-8: {arg:?}"));
        }
        match parse_step(arg) {
            Ok(step) => steps.push(step),
            Err(msg) => fail(2, &msg),
        }
    }
    for step in &steps {
        run(step, &argv);
    }
    // Returning from main, as most programs do, ends the guest without `proc_exit` (which
    // wasmtime reports as an error carrying a backtrace: measurably slower).
    let _ = io::stdout().flush();
}
