//! The local command line. Every path — `cutover invoke EVENT.json` or an operator subcommand —
//! ends in one JSON payload handed to the engine's handler, exactly as a Lambda event is: a
//! subcommand becomes the manual-command JSON of docs/design.md §5/§6, so the CLI and the Lambda
//! parse and handle commands the same way.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};

use cutover_core::config::Config;

use crate::clients::{load_config, Clients};
use crate::engine;
use crate::engine::retry::{Deadline, DEFAULT_BUDGET};
use crate::observe::clock::ClockChoice;
use crate::observe::kubernetes::DEFAULT_READ_TIMEOUT;
use crate::report::Outcome;
use crate::table;

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "Moves live services between EKS clusters by steering Route53 (local CLI; the same \
             binary is the Lambda handler when AWS_LAMBDA_RUNTIME_API is set)."
)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, env = "CUTOVER_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// The clock cutover decides by: `system`, or `sandbox:CONTROL_URL` to follow a local
    /// sandbox's simulated clock in a rehearsal (loopback only; never in Lambda).
    #[arg(
        long,
        global = true,
        default_value = "system",
        value_name = "system|sandbox:URL"
    )]
    pub clock: ClockChoice,
    /// How the report is printed: `json` for scripts (the Lambda's answer), `table` for people.
    #[arg(long, global = true, value_enum, default_value = "json")]
    pub output: OutputFormat,
    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Handle an event JSON file exactly as the Lambda would (EventBridge, SNS or a command).
    Invoke {
        /// The event payload, a JSON file.
        event: PathBuf,
    },
    /// Report, change nothing.
    Status(ServiceArgs),
    /// Show what the next tick would do, with the exact Route53 change batch; writes nothing.
    Plan(ServiceArgs),
    /// Begin a migration.
    Start(StartArgs),
    /// Hold a migration where it is.
    Pause(ServiceArgs),
    /// Let a paused migration go on.
    Resume(ServiceArgs),
    /// Take the next step now.
    Promote(ServiceArgs),
    /// Go to 100 % now.
    PromoteFull(ServiceArgs),
    /// Abort: all traffic back to `from`.
    Rollback(ServiceArgs),
    /// Hold at a chosen share on `to`.
    SetWeight(SetWeightArgs),
    /// Complete now if the handover preconditions hold.
    Handover(ServiceArgs),
    /// Let a step that asks for approval advance.
    Approve(ServiceArgs),
    /// Rebuild a lost state record from the zone (records parked without one).
    Adopt(ServiceArgs),
    /// Run the schedule's work now.
    Tick(ServiceArgs),
    /// Print the record names cutover may change, normalised as IAM compares them, for the
    /// `route53:ChangeResourceRecordSetsNormalizedRecordNames` condition: one per line, then all
    /// of them as one comma-separated line (the template's `RecordNames` parameter).
    IamRecordNames,
    /// Print a shell completion script (e.g. `cutover completions bash > /etc/bash_completion.d/cutover`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; e.g. `cutover man | man -l -`).
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    Table,
}

/// What every operator command takes (docs/design.md §5).
#[derive(Debug, Clone, Args)]
pub struct ServiceArgs {
    /// The service. Only `status` and `tick` act on every service when it is omitted; any other
    /// command needs `--all` for that.
    pub service: Option<String>,
    /// Act on every configured service.
    #[arg(long, conflicts_with = "service")]
    pub all: bool,
    /// Plan and report, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Who asks (recorded in the state record and the change batch comment). Default: $USER.
    #[arg(long)]
    pub actor: Option<String>,
    /// Why (recorded with the actor).
    #[arg(long)]
    pub reason: Option<String>,
    /// Idempotency key: a second command with the same id changes nothing.
    #[arg(long)]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub common: ServiceArgs,
    /// The destination cluster (default: the service's configured `to`).
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum)]
    pub strategy: Option<StrategyArg>,
    /// The deployed version, for the record.
    #[arg(long)]
    pub version: Option<String>,
    /// Begin a wave of this name: its services (`--all`, `--services`, `--match` or `--label`)
    /// start at most `--max-active` at a time, the rest queued; each tick starts the next.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["to", "strategy", "service"])]
    pub wave: Option<String>,
    /// The wave's services, by name (comma-separated).
    #[arg(long, value_delimiter = ',', requires = "wave", conflicts_with_all = ["all", "matching", "label"], value_name = "NAME,…")]
    pub services: Vec<String>,
    /// The wave's services: those whose name matches this glob (`*`, `?`).
    #[arg(long = "match", requires = "wave", conflicts_with_all = ["all", "label"], value_name = "GLOB")]
    pub matching: Option<String>,
    /// The wave's services: those with this label (`services.<name>.labels`).
    #[arg(
        long,
        requires = "wave",
        conflicts_with = "all",
        value_name = "KEY=VALUE"
    )]
    pub label: Option<String>,
    /// Canaries of the wave in progress at once (default: the config's `wave.max_active`).
    #[arg(long, requires = "wave")]
    pub max_active: Option<u32>,
    /// Rollbacks of the wave's services after which it starts no more (default: the config's
    /// `wave.max_failures`).
    #[arg(long, requires = "wave")]
    pub max_failures: Option<u32>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StrategyArg {
    Canary,
    BlueGreen,
}

#[derive(Debug, Clone, Args)]
pub struct SetWeightArgs {
    #[command(flatten)]
    pub common: ServiceArgs,
    /// The share of traffic on `to`, 0–100.
    #[arg(long)]
    pub percent: u8,
}

/// Why the CLI could not even build a payload.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{path}: {reason}")]
    EventFile { path: PathBuf, reason: String },
    #[error("{0} is not an operator command and sends no event")]
    NotAnEvent(&'static str),
}

impl CliCommand {
    /// The JSON payload this command stands for: the file's content for `invoke`, else the
    /// manual command of docs/design.md §5 (`{"action": …, "service": …, …}`).
    pub fn payload(&self, default_actor: &str) -> Result<Value, CliError> {
        let (action, common, extra): (&str, &ServiceArgs, Map<String, Value>) = match self {
            CliCommand::Invoke { event } => return read_event_file(event),
            CliCommand::Status(a) => ("status", a, Map::new()),
            CliCommand::Plan(a) => ("plan", a, Map::new()),
            CliCommand::Start(a) => ("start", &a.common, start_fields(a)),
            CliCommand::Pause(a) => ("pause", a, Map::new()),
            CliCommand::Resume(a) => ("resume", a, Map::new()),
            CliCommand::Promote(a) => ("promote", a, Map::new()),
            CliCommand::PromoteFull(a) => ("promote-full", a, Map::new()),
            CliCommand::Rollback(a) => ("rollback", a, Map::new()),
            CliCommand::SetWeight(a) => {
                let mut extra = Map::new();
                extra.insert("percent".into(), json!(a.percent));
                ("set-weight", &a.common, extra)
            }
            CliCommand::Handover(a) => ("handover", a, Map::new()),
            CliCommand::Approve(a) => ("approve", a, Map::new()),
            CliCommand::Adopt(a) => ("adopt", a, Map::new()),
            CliCommand::Tick(a) => ("tick", a, Map::new()),
            CliCommand::IamRecordNames => return Err(CliError::NotAnEvent("iam-record-names")),
            CliCommand::Completions { .. } => return Err(CliError::NotAnEvent("completions")),
            CliCommand::Man => return Err(CliError::NotAnEvent("man")),
        };
        Ok(manual_command(action, common, extra, default_actor))
    }
}

fn start_fields(args: &StartArgs) -> Map<String, Value> {
    let mut extra = Map::new();
    if let Some(to) = &args.to {
        extra.insert("to".into(), json!(to));
    }
    if let Some(strategy) = args.strategy {
        let name = match strategy {
            StrategyArg::Canary => "canary",
            StrategyArg::BlueGreen => "blue-green",
        };
        extra.insert("strategy".into(), json!(name));
    }
    if let Some(version) = &args.version {
        extra.insert("version".into(), json!(version));
    }
    // A wave's fields go into the payload even without `--wave`: its parser refuses them then,
    // naming the field, rather than the CLI dropping them silently.
    if let Some(wave) = &args.wave {
        extra.insert("wave".into(), json!(wave));
    }
    if !args.services.is_empty() {
        extra.insert("services".into(), json!(args.services));
    }
    if let Some(glob) = &args.matching {
        extra.insert("match".into(), json!(glob));
    }
    if let Some(label) = &args.label {
        extra.insert("label".into(), json!(label));
    }
    if let Some(n) = args.max_active {
        extra.insert("max_active".into(), json!(n));
    }
    if let Some(n) = args.max_failures {
        extra.insert("max_failures".into(), json!(n));
    }
    extra
}

fn manual_command(
    action: &str,
    common: &ServiceArgs,
    extra: Map<String, Value>,
    default_actor: &str,
) -> Value {
    let mut command = Map::new();
    command.insert("action".into(), json!(action));
    if let Some(service) = &common.service {
        command.insert("service".into(), json!(service));
    }
    if common.all {
        command.insert("services".into(), json!("all"));
    }
    command.insert("dry_run".into(), json!(common.dry_run));
    let actor = common.actor.as_deref().unwrap_or(default_actor);
    command.insert("actor".into(), json!(actor));
    if let Some(reason) = &common.reason {
        command.insert("reason".into(), json!(reason));
    }
    if let Some(id) = &common.id {
        command.insert("id".into(), json!(id));
    }
    command.extend(extra);
    Value::Object(command)
}

fn read_event_file(path: &PathBuf) -> Result<Value, CliError> {
    let err = |reason: String| CliError::EventFile {
        path: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))
}

/// Every record name cutover may change, in IAM's normal form (docs/reference/route53.md "IAM for
/// record-level least privilege": lower-case, no trailing dot, `\ooo` escapes): each service's
/// hostname, every TXT registry variant of both clusters, and its state record; and cutover's
/// own records of each zone (the change record, the waves record).
pub fn iam_record_names(config: &Config) -> Vec<String> {
    let zone_records = config.zones.iter().flat_map(|z| {
        cutover_core::config::zone_record_names(&config.state_record_prefix, &z.name)
            .into_iter()
            .map(|(name, _)| name)
    });
    let mut names: Vec<String> = config
        .services()
        .flat_map(|svc| cutover_core::planner::names_of_interest(config, svc))
        .chain(zone_records)
        .map(|name| iam_escape(name.as_str()))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn iam_escape(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("\\{other:03o}"),
        })
        .collect()
}

/// The actor of a CLI command without `--actor`: the local user.
pub fn default_cli_actor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|| "cli".to_string())
}

/// The CLI: logs to stderr (`RUST_LOG`), the JSON report to stdout; the exit code says what the
/// command came to: 0 done (a no-op and a wait are done), 1 failed for a reason a retry may fix,
/// 2 refused, 3 partially done.
pub async fn run() -> ExitCode {
    init_cli_logging();
    let cli = Cli::parse();
    if let Some(code) = print_help_text(&cli.command) {
        return code;
    }
    let refused = ExitCode::from(Outcome::Refused.exit_code());
    let config = match load_config(cli.config.as_deref()) {
        Ok(Some(config)) => config,
        Ok(None) => {
            eprintln!("cutover: --config or CUTOVER_CONFIG: not set (the path of cutover.toml)");
            return refused;
        }
        Err(e) => {
            eprintln!("cutover: {e}");
            return refused;
        }
    };
    if matches!(cli.command, CliCommand::IamRecordNames) {
        let names = iam_record_names(&config);
        for name in &names {
            println!("{name}");
        }
        println!("{}", names.join(","));
        return ExitCode::SUCCESS;
    }
    let payload = match cli.command.payload(&default_cli_actor()) {
        Ok(payload) => payload,
        Err(e) => {
            eprintln!("cutover: {e}");
            return refused;
        }
    };
    let clock = match cli.clock.resolve().await {
        Ok(clock) => clock,
        Err(e) => {
            eprintln!("cutover: {e}");
            return ExitCode::from(Outcome::Failed.exit_code());
        }
    };
    let clients =
        Clients::from_env_with_clock(config.rate_limit, DEFAULT_READ_TIMEOUT, clock).await;
    let ctx = clients.context(Arc::new(config));
    let answer = engine::handle_until(&ctx, payload, Deadline::after(DEFAULT_BUDGET)).await;
    match cli.output {
        OutputFormat::Table => print!("{}", table::render(&answer.report)),
        OutputFormat::Json => match serde_json::to_string_pretty(&answer.report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("cutover: cannot print the report: {e}");
                return ExitCode::from(Outcome::Failed.exit_code());
            }
        },
    }
    ExitCode::from(answer.outcome.exit_code())
}

/// `completions` and `man` print text generated from the command line's own definition, so
/// they always match it; they need no config.
fn print_help_text(command: &CliCommand) -> Option<ExitCode> {
    let mut definition = <Cli as clap::CommandFactory>::command();
    let mut text = Vec::new();
    match command {
        CliCommand::Completions { shell } => {
            clap_complete::generate(*shell, &mut definition, "cutover", &mut text);
        }
        CliCommand::Man => {
            // Writing into memory cannot fail; stdout is written below.
            let _ = clap_mangen::Man::new(definition).render(&mut text);
        }
        _ => return None,
    }
    // A closed pipe (`cutover man | head`) is not an error worth a message.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), &text);
    Some(ExitCode::SUCCESS)
}

fn init_cli_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::parse_invocation;
    use cutover_core::command::Action;
    use cutover_core::types::Name;
    use cutover_core::wave::Selector;

    fn payload(args: &[&str]) -> Value {
        let cli =
            Cli::try_parse_from(std::iter::once("cutover").chain(args.iter().copied())).unwrap();
        cli.command.payload("cli:test").unwrap()
    }

    #[test]
    fn subcommands_become_manual_command_json() {
        assert_eq!(
            payload(&[
                "rollback", "payments", "--actor", "alice", "--reason", "5xx", "--id", "rb-1"
            ]),
            json!({"action":"rollback","service":"payments","dry_run":false,"actor":"alice","reason":"5xx","id":"rb-1"})
        );
        assert_eq!(
            payload(&["set-weight", "payments", "--percent", "25", "--dry-run"]),
            json!({"action":"set-weight","service":"payments","dry_run":true,"actor":"cli:test","percent":25})
        );
        assert_eq!(
            payload(&[
                "start",
                "payments",
                "--to",
                "green",
                "--strategy",
                "blue-green",
                "--version",
                "v9"
            ]),
            json!({"action":"start","service":"payments","dry_run":false,"actor":"cli:test","to":"green","strategy":"blue-green","version":"v9"})
        );
        assert_eq!(
            payload(&["promote-full", "payments"])["action"],
            json!("promote-full")
        );
        assert_eq!(
            payload(&["tick"]),
            json!({"action":"tick","dry_run":false,"actor":"cli:test"})
        );
    }

    #[test]
    fn every_subcommand_payload_parses_as_a_command() {
        for args in [
            vec!["status"],
            vec!["plan", "payments"],
            vec!["start", "payments"],
            vec!["pause", "payments"],
            vec!["resume", "payments"],
            vec!["promote", "payments"],
            vec!["promote-full", "payments"],
            vec!["rollback", "payments"],
            vec!["set-weight", "payments", "--percent", "100"],
            vec!["handover", "payments"],
            vec!["approve", "payments"],
            vec!["adopt", "payments"],
            vec!["promote", "--all"],
            vec!["tick"],
        ] {
            let parsed = parse_invocation(&payload(&args), &[]).unwrap();
            assert!(matches!(parsed.as_slice(), [Ok(_)]), "{args:?}: {parsed:?}");
        }
    }

    #[test]
    fn a_wave_start_names_its_services_and_limits() {
        assert_eq!(
            payload(&[
                "start",
                "--wave",
                "fleet",
                "--all",
                "--max-active",
                "5",
                "--max-failures",
                "2"
            ]),
            json!({"action":"start","wave":"fleet","services":"all","max_active":5,
                   "max_failures":2,"dry_run":false,"actor":"cli:test"})
        );
        for (args, selector) in [
            (vec!["--all"], Selector::All),
            (
                vec!["--services", "payments,search"],
                Selector::Names(vec![
                    Name::new("payments").unwrap(),
                    Name::new("search").unwrap(),
                ]),
            ),
            (vec!["--match", "pay*"], Selector::Match("pay*".into())),
            (
                vec!["--label", "team=pay"],
                Selector::Label {
                    key: "team".into(),
                    value: "pay".into(),
                },
            ),
        ] {
            let mut all = vec!["start", "--wave", "fleet"];
            all.extend(args.iter().copied());
            let parsed = parse_invocation(&payload(&all), &[]).unwrap();
            let [Ok(cmd)] = parsed.as_slice() else {
                panic!("{all:?}: {parsed:?}");
            };
            let Action::Start { wave: Some(w), .. } = &cmd.action else {
                panic!("{all:?}: {cmd:?}");
            };
            assert_eq!((w.name.as_str(), &w.selector), ("fleet", &selector));
            assert_eq!(cmd.service, None);
        }
        // One selector, and a wave's options only with --wave.
        for bad in [
            vec!["start", "--wave", "fleet", "--all", "--match", "x*"],
            vec!["start", "--wave", "fleet", "--services", "a", "--all"],
            vec!["start", "payments", "--wave", "fleet"],
        ] {
            let args = std::iter::once("cutover").chain(bad.iter().copied());
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?}");
        }
        let err = parse_invocation(&payload(&["start", "--wave", "fleet"]), &[]).unwrap_err();
        assert_eq!(err.field(), "services");
        let args = ["start", "payments", "--max-active", "3"];
        let err = parse_invocation(&payload(&args), &[]).unwrap_err();
        assert_eq!(err.field(), "max_active");
        let args = ["start", "--wave", "fleet", "--all", "--max-active", "0"];
        let err = parse_invocation(&payload(&args), &[]).unwrap_err();
        assert_eq!(err.field(), "max_active");
    }

    #[test]
    fn a_command_that_moves_traffic_needs_a_service_or_all() {
        assert_eq!(
            payload(&["rollback", "--all"]),
            json!({"action":"rollback","services":"all","dry_run":false,"actor":"cli:test"})
        );
        let err = parse_invocation(&payload(&["rollback"]), &[]).unwrap_err();
        assert_eq!(err.field(), "service");
        assert!(err.to_string().contains("--all") || err.to_string().contains("\"all\""));
        assert!(Cli::try_parse_from(["cutover", "rollback", "payments", "--all"]).is_err());
    }

    #[test]
    fn a_bad_value_is_reported_with_its_field() {
        let args = ["set-weight", "payments", "--percent", "101"];
        let err = parse_invocation(&payload(&args), &[]).unwrap_err();
        assert_eq!(err.field(), "percent");
        let err = parse_invocation(&payload(&["pause", "Payments"]), &[]).unwrap_err();
        assert_eq!(err.field(), "service");
    }

    #[test]
    fn the_config_path_comes_from_the_flag() {
        let cli =
            Cli::try_parse_from(["cutover", "--config", "/etc/cutover.toml", "status"]).unwrap();
        assert_eq!(cli.config, Some(PathBuf::from("/etc/cutover.toml")));
    }

    #[test]
    fn a_missing_event_file_names_the_path() {
        let cli = Cli::try_parse_from(["cutover", "invoke", "/nonexistent/event.json"]).unwrap();
        let err = cli.command.payload("x").unwrap_err().to_string();
        assert!(err.starts_with("/nonexistent/event.json: "), "{err}");
    }
}
