use std::process::ExitCode;

use clap::Parser;
use evcms::config::{Cli, Command, LogFormat};
use evcms::{App, Db};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of the system allocator: glibc's malloc took about a sixth of the server's
/// CPU in a storm of 19,000 chargers (`_int_malloc`, `malloc_consolidate`, `cfree`...), and its
/// per-thread arenas keep freed memory that an idle fleet of connections never gives back.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    limit_malloc_arenas();
    no_transparent_huge_pages();
    let cli = Cli::parse();
    init_logging(&cli.config.log_filter, cli.config.log_format);
    let config = cli.config;
    tracing::debug!(?config, "configuration");

    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => Db::connect(&config.database_url, 1)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Command::Serve => serve(&config).await,
        Command::User { action } => evcms::auth::cli::run(&config, action).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("evcms: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: &evcms::Config) -> Result<(), String> {
    raise_open_files_limit();
    let app = App::build(config).await.map_err(|e| e.to_string())?;
    let shutdown = shutdown_signal();
    let addr = app.local_addr().map_err(|e| e.to_string())?;
    let scheme = if app.serves_tls() { "https" } else { "http" };
    tracing::info!(%addr, backend = ?app.db().backend(), "evcms is listening: admin UI at {scheme}://{addr}/, REST API under /api/cms");
    app.run(shutdown).await.map_err(|e| e.to_string())?;
    tracing::info!("evcms stopped");
    Ok(())
}

/// SQLite, being C, allocates with glibc's malloc (everything of Rust's goes through mimalloc),
/// which gives every thread that allocates an arena of its own and keeps there what it freed.
/// sqlx runs each SQLite connection on a thread of its own, so after a storm a dozen arenas held
/// their peak: about 2 KiB per connected charger (12.7 against 10.8 KiB per idle connection with
/// one arena, measured with 10,000 chargers). Two arenas keep the writer and the readers from
/// queueing on one lock. Set before any SQLite connection (or any thread using malloc) exists.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts glibc's allocator parameters; M_ARENA_MAX bounds the arenas
    // created from now on, and no thread has allocated with glibc's malloc yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// mimalloc asks the kernel for transparent huge pages on its memory (`madvise`), so every page
/// it touches first, and every page it touches again after giving it back, costs zeroing 2 MiB.
/// In a storm of 19,000 chargers that was a fifth of the server's CPU (`clear_page_erms` under
/// huge page faults; perf, the setup of a full storm on PostgreSQL), for memory used a few KiB
/// per connection. Ordinary pages cost only what is touched. The setting is the process's, and
/// holds for memory mapped before it too.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process's memory map; it reads and
    // writes no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Every charger is an open socket, and a network reconnecting at once holds its old sockets
/// (still closing) beside the new ones for a moment: the usual soft limit of 1,024 files (or any
/// soft limit below the hard one) would refuse chargers, and leave SQLite unable to open its
/// files, long before memory or CPU run out. So the soft limit is raised to the hard one, which
/// the deployment sets (systemd's `LimitNOFILE`, `ulimit -Hn`).
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open files limit"),
        Err(e) => tracing::warn!(error = %e, "the open files limit could not be raised"),
    }
}

fn init_logging(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed now, before the server says it is
/// listening, so a signal sent right after start-up still stops it gracefully.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let interrupt = async {
                match signals.0.as_mut() {
                    Some(s) => drop(s.recv().await),
                    None => std::future::pending::<()>().await,
                }
            };
            let terminate = async {
                match signals.1.as_mut() {
                    Some(s) => drop(s.recv().await),
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = interrupt => {},
                _ = terminate => {},
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}
