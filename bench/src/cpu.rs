//! CPU time per call, from `/proc`: of the load generator itself, of the
//! server process, and of the PostgreSQL backends serving the run's database
//! (PostgreSQL on the same machine). On a machine where all three share the
//! cores, throughput is bounded by their sum per call; the split shows where
//! the API's overhead over raw SQL goes.

use std::collections::HashMap;

use sqlx::PgPool;

/// Clock ticks per second of `/proc/*/stat` times.
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// User + system CPU of process `pid`, in microseconds.
pub fn process_cpu_us(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces) start after ") ".
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / ticks_per_second() * 1e6)
}

/// CPU of this process, in microseconds.
pub fn own_cpu_us() -> f64 {
    process_cpu_us(std::process::id()).unwrap_or(0.0)
}

/// CPU of the PostgreSQL backends connected to the pool's database.
pub async fn postgres_cpu_us(pool: &PgPool) -> HashMap<i32, f64> {
    let pids: Vec<i32> = sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        .fetch_all(pool)
        .await
        .unwrap_or_default();
    pids.into_iter().filter_map(|pid| Some((pid, process_cpu_us(pid as u32)?))).collect()
}

/// CPU snapshot of the three parties at the start of a phase.
pub struct CpuMark {
    own: f64,
    server: Option<f64>,
    postgres: HashMap<i32, f64>,
}

/// CPU spent during a phase, in microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSpent {
    pub client_us: f64,
    pub server_us: f64,
    pub postgres_us: f64,
}

impl CpuMark {
    pub async fn now(server_pid: u32, pool: &PgPool) -> Self {
        Self { own: own_cpu_us(), server: process_cpu_us(server_pid), postgres: postgres_cpu_us(pool).await }
    }

    /// CPU spent since the mark. Backends that appeared since count from zero.
    pub async fn spent(&self, server_pid: u32, pool: &PgPool) -> CpuSpent {
        let postgres = postgres_cpu_us(pool).await;
        CpuSpent {
            client_us: own_cpu_us() - self.own,
            server_us: match (self.server, process_cpu_us(server_pid)) {
                (Some(before), Some(after)) => after - before,
                _ => 0.0,
            },
            postgres_us: postgres
                .iter()
                .map(|(pid, after)| after - self.postgres.get(pid).copied().unwrap_or(0.0))
                .sum(),
        }
    }
}
