//! SIGTERM, SIGINT and SIGHUP for the server, taken by one thread with sigwait: the signals are blocked in
//! every thread (the mask is inherited, so it is set before any thread starts), and only that thread receives
//! them. This needs no signal handler and no tokio "signal" feature.

use crate::error::{Error, Result};

pub(crate) struct Signals {
    set: libc::sigset_t,
}

impl Signals {
    /// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and so in every thread it starts later).
    pub fn block() -> Result<Self> {
        // SAFETY: sigemptyset/sigaddset initialise and fill a local set; pthread_sigmask only changes this
        // thread's mask. None of them touches memory other than the set passed.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                libc::sigaddset(&mut set, sig);
            }
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(Error::Config(format!("cannot block signals for the server (error {rc})")));
            }
            Ok(Signals { set })
        }
    }

    /// Starts the thread that waits for the signals: SIGHUP calls `reload`, SIGTERM and SIGINT set `stop`.
    pub fn spawn(self, reload: impl Fn() + Send + 'static, stop: tokio::sync::watch::Sender<bool>) {
        let set = self.set;
        std::thread::Builder::new()
            .name("mlctl-signals".into())
            .spawn(move || loop {
                let mut sig: libc::c_int = 0;
                // SAFETY: `set` is an initialised signal set owned by this closure; `sig` is a local out-value.
                let rc = unsafe { libc::sigwait(&set, &mut sig) };
                if rc != 0 {
                    continue;
                }
                if sig == libc::SIGHUP {
                    reload();
                } else {
                    let _ = stop.send(true);
                }
            })
            .map(|_| ())
            .unwrap_or_else(|_| {
                // Without the thread the signals stay blocked: the server could not be stopped by SIGTERM.
                std::process::abort()
            });
    }
}
