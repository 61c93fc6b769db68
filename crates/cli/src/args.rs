//! The command line (product.md, "Command line").

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `amsync --version`: the version and the git commit it was built from
/// (`build.rs`; "unknown" when built outside a git checkout).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("AMSYNC_GIT_COMMIT"), ")");

#[derive(Debug, Parser)]
#[command(name = "amsync", version = VERSION, propagate_version = true, about = "Keeps a member community in step with the association's AMS.")]
pub struct Cli {
    /// Show amsync's info-level log lines beside the own lines of refresh,
    /// status, check, migrate, backup and sso mint-token, which otherwise
    /// keep to warnings and errors (a `log.level` in the configuration, or
    /// RUST_LOG, sets the level instead).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Writes a commented config file to start from.
    Init {
        /// Where to write it.
        #[arg(long, default_value = "amsync.toml")]
        out: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Everything at once with a built-in simulated AMS: embedded SQLite,
    /// a trickle of simulated changes, the API and dashboard.
    Demo(DemoArgs),
    /// Scheduler, workers and web server.
    Serve(ConfigArg),
    /// Queue workers only (extra nodes; PostgreSQL only).
    Worker(ConfigArg),
    /// Enqueues refreshes; works them itself when no node serves.
    Refresh(RefreshArgs),
    /// The sync health summary.
    Status {
        #[command(flatten)]
        config: ConfigArg,
        /// The same data as `GET /api/v1/sync/status`, as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Applies pending database migrations.
    Migrate(ConfigArg),
    /// Validates the config and reaches every configured service.
    Check(ConfigArg),
    /// A consistent copy of a SQLite database.
    Backup {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        out: PathBuf,
    },
    /// The simulated AMS on its own.
    SimAms(SimArgs),
    /// Sign-on tools.
    Sso {
        #[command(subcommand)]
        which: SsoCommand,
    },
    /// Benchmarks; each prints its figures last as one JSON line.
    Bench {
        #[command(subcommand)]
        which: BenchCommand,
    },
    /// Prints the shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Writes the man pages (amsync.1 and one per subcommand) into a directory.
    Manpages {
        /// The directory (created if missing).
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The config file.
    #[arg(long, short = 'c', env = "AMSYNC_CONFIG", default_value = "amsync.toml")]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Simulated members.
    #[arg(long, default_value_t = 3000)]
    pub members: usize,
    /// Where the API and dashboard listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The database (default: amsync-demo.db in the working directory).
    #[arg(long, default_value = "sqlite://amsync-demo.db")]
    pub db: String,
    /// The simulator's seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Simulated changes per tick of the trickle (0 turns it off).
    #[arg(long, default_value_t = 3)]
    pub changes: usize,
    /// Seconds between ticks of the trickle.
    #[arg(long, default_value_t = 5)]
    pub change_every: u64,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Refresh one member.
    #[arg(long, group = "what")]
    pub member: Vec<String>,
    /// List every member (a full refresh that also reconciles).
    #[arg(long, group = "what")]
    pub all: bool,
    /// Members changed since this RFC 3339 time; never moves the watermark.
    #[arg(long, group = "what")]
    pub changed_since: Option<String>,
    /// Follow progress to the end.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    #[arg(long, default_value = "127.0.0.1:9090")]
    pub listen: SocketAddr,
    #[arg(long, default_value_t = 1000)]
    pub members: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 40)]
    pub events: usize,
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of data calls answered with a 5xx.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of data calls that hang.
    #[arg(long, default_value_t = 0.0)]
    pub hang_rate: f64,
    /// Share of data calls answered with a malformed body.
    #[arg(long, default_value_t = 0.0)]
    pub malformed_rate: f64,
    /// Require this API key (header X-Api-Key) on every call.
    #[arg(long, env = "AMSYNC_SIM_API_KEY")]
    pub api_key: Option<String>,
    /// Worker threads of the simulator's runtime.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Render every member's documents in this encoding (`json` or `xml`,
    /// repeatable) before listening, so no request waits on rendering.
    #[arg(long, value_parser = ["json", "xml"])]
    pub prerender: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Member refreshes per second against a simulated AMS in its own process.
    Refresh(BenchRefreshArgs),
    /// Render time of each dashboard page on a large database.
    Dashboard(BenchDashboardArgs),
    /// Access decisions per second in process, and `GET /api/v1/access`
    /// latency under a fixed request rate.
    Access(BenchAccessArgs),
    /// Re-applying community rules to every member from stored payloads.
    Rules(BenchRulesArgs),
    /// Session-variable sign-ins (PSK, session write, login refresh queued)
    /// while refreshes run beside them.
    Login(BenchLoginArgs),
}

#[derive(Debug, Args)]
pub struct BenchDashboardArgs {
    #[arg(long, default_value_t = 100_000)]
    pub members: u64,
    /// History rows, spread over the members.
    #[arg(long, default_value_t = 1_000_000)]
    pub history: u64,
    #[arg(long, default_value_t = 10_000)]
    pub runs: u64,
    /// Requests per page (after two warm-up requests).
    #[arg(long, default_value_t = 20)]
    pub iterations: usize,
    /// Keep the database here instead of a temporary directory.
    #[arg(long)]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchAccessArgs {
    /// In-process decisions per run (the best of three runs is reported).
    #[arg(long, default_value_t = 20_000_000)]
    pub iterations: u64,
    /// Members loaded from the simulated AMS before the HTTP part.
    #[arg(long, default_value_t = 3000)]
    pub members: usize,
    /// Requests per second, sent on schedule whatever the answers do (open loop).
    #[arg(long, default_value_t = 2000)]
    pub rate: u32,
    /// Seconds measured (after one second of warm-up).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct BenchRulesArgs {
    /// Members stored before the rules are re-applied.
    #[arg(long, default_value_t = 100_000)]
    pub members: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Keep the database here instead of a temporary directory.
    #[arg(long)]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchLoginArgs {
    #[arg(long, default_value_t = 10_000)]
    pub members: usize,
    /// Seconds measured (after one second of warm-up).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Sign-ins started per second (0: back to back).
    #[arg(long, default_value_t = 1000)]
    pub login_rate: u32,
    /// Sign-ins in flight at most.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Members queued for refresh per second beside the sign-ins.
    #[arg(long, default_value_t = 1000)]
    pub refresh_rate: u32,
}

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// Prints a test token in the configured pre-shared-key format.
    MintToken {
        #[command(flatten)]
        config: ConfigArg,
        /// The member key the token names.
        #[arg(long)]
        member: String,
        /// The key id to use (default: the first of sso.resolve.keys).
        #[arg(long)]
        kid: Option<String>,
        /// Validity in seconds, at most sso.resolve.max_age.
        #[arg(long, default_value_t = 120)]
        ttl_s: u64,
    },
}

#[derive(Debug, Args)]
pub struct BenchRefreshArgs {
    #[arg(long, default_value_t = 100_000)]
    pub members: usize,
    /// AMS calls in flight, as `ams.max_concurrency`.
    #[arg(long, default_value_t = 192)]
    pub max_concurrency: u32,
    /// Member refreshes in flight, as `member_refresh.workers`; by default
    /// it follows `--max-concurrency` by the same rule (96 for 192).
    #[arg(long)]
    pub workers: Option<usize>,
    /// `json` or `xml`: the source `http-json` or `http-xml` (when no
    /// `--source` is given).
    #[arg(long, default_value = "json")]
    pub encoding: String,
    /// The source kind to refresh through, repeatable: `http-json`,
    /// `http-xml` or `soap` (the sim's `/RefreshService.asmx`). Several
    /// run one after the other against the same sim, each into a database
    /// of its own, after an unmeasured warm-up pass, and a last line
    /// compares them.
    #[arg(long = "source", value_parser = ["http-json", "http-xml", "soap"])]
    pub sources: Vec<String>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Keep the database here instead of a temporary directory.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// HTTP version spoken to sim-ams, as `ams.http_version`: `1.1` or `2`
    /// (`auto` is 1.1 over plain http).
    #[arg(long, default_value = "1.1")]
    pub http_version: String,
    /// Only the AMS side: fetch and decode every member's three parts,
    /// store nothing (the ceiling the HTTP exchange alone sets).
    #[arg(long)]
    pub fetch_only: bool,
}

impl BenchRefreshArgs {
    /// `--workers`, or derived from `--max-concurrency` as the config does.
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| amsync_config::workers_for_budget(self.max_concurrency) as usize)
    }
}
