//! Tasktracker's load generator and fault-drill harness, as a library so the
//! drills in `tests/` start servers and databases the same way the benchmark
//! does.
//!
//! - [`database`]: a fresh database per run on the shared PostgreSQL, and a
//!   private PostgreSQL instance for drills that stop the database.
//! - [`server`]: the real `tasktracker-server` binary as a child process.
//! - [`client`]: tonic clients with a bearer token.
//! - [`cpu`]: CPU per call of the load generator, the server and PostgreSQL.
//! - [`seed`]: bulk seeding straight into the schema.
//! - [`minimal`]: the least SQL that answers each call (the baseline), and
//!   [`raw`]: the statements the server issues per RPC, both sent directly.
//! - [`load`] (closed loop), [`open_loop`] (fixed arrival rate),
//!   [`scenarios`], [`watch`], [`overload`], [`report`]: the benchmark.

pub mod client;
pub mod cpu;
pub mod database;
pub mod load;
pub mod minimal;
pub mod open_loop;
pub mod overload;
pub mod raw;
pub mod report;
pub mod rng;
pub mod scenarios;
pub mod scrape;
pub mod seed;
pub mod server;
pub mod stats;
pub mod watch;

/// Raises this process's open-file limit to its hard limit (children inherit
/// it), so thousands of connections and streams do not run out of descriptors.
/// Returns the new soft limit.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(limit.rlim_cur)
}
