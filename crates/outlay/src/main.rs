//! `outlay`: the one binary. `serve` and `demo` run the server; `migrate`, `admin` and
//! `audit` are operator commands on a data directory.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use outlay_app::NewUser;
use outlay_bootstrap::{DEMO_USERS, Overrides, Settings};
use outlay_domain::{Email, Role};

/// mimalloc rather than glibc's allocator: every password hash takes megabytes, and glibc
/// keeps such blocks in per-thread arenas after they are freed, so a server that had hashed on
/// many blocking threads stayed at 150 MiB and more; mimalloc gives them back (peak resident
/// memory in docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "outlay",
    version,
    about = "Expense reimbursement: expenses, reports, approvals, payment, audit."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Default)]
struct Place {
    /// Where to listen, HOST:PORT [env: OUTLAY_ADDR; default 127.0.0.1:8080]
    #[arg(long)]
    addr: Option<String>,
    /// The data directory [env: OUTLAY_DATA_DIR; default ./outlay-data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Args, Clone, Default)]
struct DataDir {
    /// The data directory [env: OUTLAY_DATA_DIR; default ./outlay-data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API on an existing (or new, empty) data directory.
    Serve(Place),
    /// Serve the demo company (six users, the standard policy); without --data-dir, in a
    /// fresh temporary folder.
    Demo {
        #[command(flatten)]
        place: Place,
        /// Also give it a few weeks of history: 24 more employees, 2,000 expenses and 300
        /// reports in every state, made through the use cases (about a minute).
        #[arg(long)]
        seed_volume: bool,
    },
    /// Create or upgrade the database, then exit.
    Migrate(DataDir),
    /// User administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Write every entity of the store, the audit chain and checkpoints included, as JSON
    /// lines (to move to another store with `import`). It holds password hashes: keep it as
    /// safe as the database.
    Export {
        #[command(flatten)]
        dir: DataDir,
        /// Where to write it (created readable by its owner only).
        #[arg(long)]
        out: PathBuf,
    },
    /// Load an export into an empty store (any OUTLAY_STORE) and checkpoint log, after
    /// verifying its audit chain and checkpoints.
    Import {
        #[command(flatten)]
        dir: DataDir,
        /// The export to load.
        #[arg(long)]
        file: PathBuf,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user. The password is read from OUTLAY_NEW_PASSWORD, or else from standard input.
    CreateUser {
        #[command(flatten)]
        dir: DataDir,
        /// Email (the login).
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// A role: employee, manager, finance or admin (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// The email of the user's manager.
        #[arg(long)]
        manager: Option<String>,
    },
    /// Create the demo company's users (and the default policy) in the configured store and
    /// identity provider, where missing; the password is OUTLAY_DEMO_PASSWORD or the demo's.
    SeedDemo(DataDir),
    /// Run the approvals sweep once, as the dispatcher does every minute: delegations start
    /// and end, waiting steps are reminded and escalated. Prints what it did; running it again
    /// does nothing new.
    Sweep(DataDir),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and hold it to every signed checkpoint, then checkpoint the
    /// head; exits 1 and names the first bad event if it is broken. With --bundle, checks an
    /// exported bundle offline instead.
    Verify {
        #[command(flatten)]
        dir: DataDir,
        /// An audit bundle written by `outlay audit export`, checked without the data.
        #[arg(long, conflicts_with = "data_dir")]
        bundle: Option<PathBuf>,
    },
    /// Write the audit bundle (public key, checkpoints, events; JSON lines) for offline
    /// verification. Exits 1 if the chain does not verify (the bundle is written all the same).
    Export {
        #[command(flatten)]
        dir: DataDir,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // mimalloc advises transparent huge pages on its arenas, so the first touch of any small
    // block made a whole 2 MiB page resident (and zeroed it): megabytes of resident memory,
    // and a sixth of a Lambda cold start. Ordinary pages it is; if the kernel refuses, nothing
    // is lost but memory.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda().await;
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(place) => serve(place, Seed::Nothing).await,
        Command::Demo { place, seed_volume } => {
            let seed = if seed_volume {
                Seed::Volume(outlay_bootstrap::Volume::default())
            } else {
                Seed::Demo
            };
            serve(place, seed).await
        }
        Command::Migrate(dir) => {
            let settings = Settings::load(&Overrides {
                addr: None,
                data_dir: dir.data_dir,
            })?;
            outlay_bootstrap::migrate(&settings).await?;
            println!("the {} store is up to date", settings.store);
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    dir,
                    email,
                    name,
                    roles,
                    manager,
                },
        } => {
            let built = build(dir.data_dir, None).await?;
            let roles = roles
                .iter()
                .map(|r| Role::parse(r))
                .collect::<Result<Vec<_>, _>>()?;
            let manager_id = match manager {
                Some(m) => Some(
                    built
                        .app
                        .store()
                        .user_by_email(&Email::parse(&m)?)
                        .await?
                        .with_context(|| format!("no user {m}"))?
                        .id,
                ),
                None => None,
            };
            let password = match std::env::var("OUTLAY_NEW_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut p = String::new();
                    std::io::stdin()
                        .read_to_string(&mut p)
                        .context("Failed to read the password")?;
                    p.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let user = built
                .app
                .create_user(
                    None,
                    NewUser {
                        email,
                        name,
                        password: Some(password),
                        roles,
                        manager_id,
                    },
                )
                .await?;
            built.close().await;
            println!(
                "{}",
                serde_json::json!({"id": user.id.to_string(), "email": user.email.as_str()})
            );
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::SeedDemo(dir),
        } => {
            let built = build(dir.data_dir, None).await?;
            outlay_bootstrap::seed_demo(&built.app).await?;
            built.close().await;
            println!("the demo company's users are in place");
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Sweep(dir),
        } => {
            let built = build(dir.data_dir, None).await?;
            let done = built.app.sweep_approvals().await?;
            built.close().await;
            println!("{}", serde_json::to_string(&done)?);
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { dir, bundle },
        } => {
            let v = match bundle {
                Some(path) => {
                    let file = std::fs::File::open(&path)
                        .with_context(|| format!("Failed to open {}", path.display()))?;
                    outlay_app::verify_bundle(std::io::BufReader::new(file))?
                }
                None => {
                    let built = build(dir.data_dir, None).await?;
                    let v = built.app.verify_audit(None).await?;
                    built.close().await;
                    v
                }
            };
            println!("{}", serde_json::to_string(&v)?);
            if !v.ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Export { dir, out } => {
            let built = build(dir.data_dir, None).await?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = std::io::BufWriter::new(
                options
                    .open(&out)
                    .with_context(|| format!("Failed to create {}", out.display()))?,
            );
            let lines = built.app.export_all(&mut file).await?;
            std::io::Write::flush(&mut file)?;
            file.into_inner()?.sync_all()?;
            built.close().await;
            println!("{}", serde_json::json!({ "lines": lines }));
            Ok(())
        }
        Command::Import { dir, file } => {
            let built = build(dir.data_dir, None).await?;
            let input = std::fs::File::open(&file)
                .with_context(|| format!("Failed to open {}", file.display()))?;
            let done = built.app.import_all(std::io::BufReader::new(input)).await;
            built.close().await;
            println!("{}", serde_json::to_string(&done?)?);
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Export { dir, out },
        } => {
            let built = build(dir.data_dir, None).await?;
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(&out)
                    .with_context(|| format!("Failed to create {}", out.display()))?,
            );
            let v = built.app.export_audit(&mut file).await?;
            std::io::Write::flush(&mut file)?;
            file.into_inner()?.sync_all()?;
            built.close().await;
            println!("{}", serde_json::to_string(&v)?);
            if !v.ok {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

/// Inside AWS Lambda: the same router, fed by the Lambda Runtime API.
#[cfg(feature = "aws")]
async fn lambda() -> anyhow::Result<()> {
    let mut settings = Settings::load(&Overrides::default())?;
    // API Gateway is the proxy in front: its Host, scheme and (rewritten) client address hold.
    settings.trust_proxy = true;
    outlay_bootstrap::init_logs(&settings);
    let metrics = outlay_bootstrap::lambda::init_metrics(&settings)?;
    let built = std::sync::Arc::new(outlay_bootstrap::build(&settings).await?);
    built.ensure_defaults().await?;
    outlay_bootstrap::lambda::run(built, metrics)
        .await
        .map_err(|e| anyhow::anyhow!("the Lambda runtime failed: {e}"))
}

#[cfg(not(feature = "aws"))]
async fn lambda() -> anyhow::Result<()> {
    anyhow::bail!(
        "this outlay binary was built without the `aws` feature, so it cannot run in Lambda"
    )
}

async fn build(
    data_dir: Option<PathBuf>,
    addr: Option<String>,
) -> anyhow::Result<outlay_bootstrap::Built> {
    let settings = Settings::load(&Overrides { addr, data_dir })?;
    outlay_bootstrap::build(&settings).await
}

/// What a server seeds before it listens.
enum Seed {
    /// Nothing: the data is the operator's.
    Nothing,
    /// The demo company.
    Demo,
    /// The demo company with a volume of history.
    Volume(outlay_bootstrap::Volume),
}

async fn serve(place: Place, seed: Seed) -> anyhow::Result<()> {
    let demo = !matches!(seed, Seed::Nothing);
    let mut overrides = Overrides {
        addr: place.addr,
        data_dir: place.data_dir,
    };
    if demo && overrides.data_dir.is_none() && std::env::var_os("OUTLAY_DATA_DIR").is_none() {
        let dir = std::env::temp_dir().join(format!("outlay-demo-{}", uuid_like()));
        overrides.data_dir = Some(dir);
    }
    let settings = Settings::load(&overrides)?;
    outlay_bootstrap::init_logs(&settings);
    let built = std::sync::Arc::new(outlay_bootstrap::build(&settings).await?);
    built.ensure_defaults().await?;
    match seed {
        Seed::Volume(volume) => {
            eprintln!(
                "seeding {} expenses and {} reports…",
                volume.expenses, volume.reports
            );
            outlay_bootstrap::seed_volume(&built.app, volume).await?;
        }
        Seed::Demo => outlay_bootstrap::seed_demo(&built.app).await?,
        Seed::Nothing => {}
    }
    let dispatcher = built.spawn_dispatcher(std::time::Duration::from_millis(
        settings.dispatch_interval_ms.max(10),
    ));
    let listener = tokio::net::TcpListener::bind(&settings.addr)
        .await
        .with_context(|| {
            format!(
                "Failed to listen on {} (is another server using it?)",
                settings.addr
            )
        })?;
    let local = listener.local_addr()?;
    if demo {
        print_demo(local, &settings);
    } else {
        eprintln!(
            "Outlay is listening on http://{local} (data in {})",
            settings.data_dir.display()
        );
    }
    tracing::info!(addr = %local, data_dir = %settings.data_dir.display(), "listening");
    axum::serve(
        listener,
        built
            .router
            .clone()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
    .context("The server failed")?;
    dispatcher.abort();
    built.close().await;
    Ok(())
}

fn print_demo(addr: SocketAddr, settings: &Settings) {
    println!();
    println!("  Outlay demo company is running at http://{addr}");
    println!("  API description: http://{addr}/openapi.json");
    println!("  Data: {}", settings.data_dir.display());
    println!();
    println!(
        "  Sign in as any of these (password: {}):",
        outlay_bootstrap::demo_password()
    );
    for (email, name, roles, manager) in DEMO_USERS {
        let roles: Vec<&str> = roles.iter().map(Role::as_str).collect();
        let roles = if roles.is_empty() {
            "employee".to_owned()
        } else {
            format!("employee, {}", roles.join(", "))
        };
        let line = manager.map_or(String::new(), |m| format!(", reports to {m}"));
        println!("    {email:<22} {name:<14} {roles}{line}");
    }
    println!();
    println!("  Stop with Ctrl-C.");
    println!();
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos:x}", std::process::id())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
