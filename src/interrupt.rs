//! Ctrl-C, SIGTERM and SIGHUP, for every command. The first signal asks
//! memgate to stop: the runner ends the launches in progress (the processes
//! to signal are published in [`children`]) and starts no other, [`crate::atomic`]
//! writes no file after it (its temporary file is removed), and `main`
//! exits 130 whatever the command would have returned. A second signal
//! ends memgate at once, after removing the temporary files being written.
//! So does the first, once the command has said nothing is left running
//! that a signal must end first ([`nothing_to_end`]): comparing a large
//! baseline stops within the signal, not after the judging.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, Once, OnceLock};

/// Set once memgate has received SIGINT, SIGTERM or SIGHUP.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The processes to send SIGTERM on a signal (the launchers now running:
/// one run, or the builds that run at once). The runner removes each after
/// the process has exited and before it is reaped, under the lock the
/// signal thread holds while it signals: it can never signal a PID that was
/// reaped and reused.
static CHILDREN: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());
/// Temporary files being written, removed before a second signal exits.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Set once nothing runs that the first signal must end: it then ends
/// memgate at once, as a second signal does.
static AT_ONCE: AtomicBool = AtomicBool::new(false);
static SIGNALS: Once = Once::new();
static SIGNAL_ERROR: OnceLock<(std::io::ErrorKind, String)> = OnceLock::new();

/// Installs the signal thread. Idempotent; the error is the OS's, every
/// time it is called.
pub fn install() -> Result<(), std::io::Error> {
    SIGNALS.call_once(|| {
        match signal_hook::iterator::Signals::new([libc::SIGINT, libc::SIGTERM, libc::SIGHUP]) {
            Ok(mut signals) => {
                std::thread::spawn(move || {
                    for _ in signals.forever() {
                        let again = INTERRUPTED.swap(true, Ordering::SeqCst);
                        if again || AT_ONCE.load(Ordering::SeqCst) {
                            // Under the lock a write renames under: no
                            // rename is under way, and none follows.
                            let pending = lock(&PENDING);
                            for path in pending.iter() {
                                let _ = std::fs::remove_file(path);
                            }
                            crate::say!(
                                "memgate: {}: stopped; nothing was written after the signal",
                                if again {
                                    "interrupted twice"
                                } else {
                                    "interrupted"
                                }
                            );
                            std::process::exit(crate::error::exit::INTERRUPTED);
                        }
                        for &pid in children().iter() {
                            // SAFETY: kill only sends a signal; the pid is
                            // unreaped while the lock is held.
                            unsafe {
                                libc::kill(pid, libc::SIGTERM);
                            }
                        }
                    }
                });
            }
            Err(e) => {
                let _ = SIGNAL_ERROR.set((e.kind(), e.to_string()));
            }
        }
    });
    match SIGNAL_ERROR.get() {
        Some((kind, message)) => Err(std::io::Error::new(*kind, message.clone())),
        None => Ok(()),
    }
}

/// Says that nothing runs from here on that a signal must end first (no
/// workload, no build): the first signal then ends memgate at once.
pub fn nothing_to_end() {
    AT_ONCE.store(true, Ordering::SeqCst);
}

/// Holds off a signal's exit while a write checks [`interrupted`] and
/// renames its file into place; see [`crate::atomic::write`].
pub fn renaming() -> MutexGuard<'static, Vec<PathBuf>> {
    lock(&PENDING)
}

/// Whether memgate has been asked to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The processes a signal ends; a panic elsewhere cannot leave the list
/// unusable.
pub fn children() -> MutexGuard<'static, Vec<libc::pid_t>> {
    lock(&CHILDREN)
}

/// Registers a temporary file for removal should a second signal exit
/// memgate while it is written; the guard unregisters it.
pub fn pending(path: PathBuf) -> Pending {
    lock(&PENDING).push(path.clone());
    Pending(path)
}

/// A registered temporary file; see [`pending`].
pub struct Pending(PathBuf);

impl Drop for Pending {
    fn drop(&mut self) {
        lock(&PENDING).retain(|p| *p != self.0);
    }
}

fn lock<T>(m: &'static Mutex<T>) -> MutexGuard<'static, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
