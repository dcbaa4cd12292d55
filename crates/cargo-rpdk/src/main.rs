//! `cargo rpdk`: the build step and developer CLI of an rpdk-rs project.
//!
//! Run through the workspace alias (`cargo rpdk <command>`), from anywhere in the project.

mod bench;
mod demo;
mod deploy;
mod docs;
mod init;
mod invoke;
mod logs;
mod package;
mod project;
mod schema;
mod stack;
mod submit;
mod test;
mod tools;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Cargo passes the subcommand name (`rpdk`) first.
#[derive(Parser)]
#[command(name = "cargo", bin_name = "cargo")]
enum Cargo {
    /// rpdk-rs: CloudFormation registry types in Rust.
    Rpdk(Cli),
}

#[derive(Parser)]
#[command(version, about = "The rpdk-rs build step and developer CLI")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Cold start and peak memory of each handler as built for Lambda, and a READ of a real
    /// resource of each type, cold and warm.
    Bench(bench::Options),
    /// The full lifecycle of each type against the local stack, printing every progress event.
    Demo(demo::Options),
    /// Deploy a template on the local stack (started when not running), printing its events
    /// and outputs; `--dry-run` checks it and prints the plan.
    Deploy(deploy::Options),
    /// Delete a stack deployed on the local stack, dependents first.
    Delete(deploy::DeleteOptions),
    /// Add a new type to the project: a handler crate of a small real type (a setting kept as
    /// an SSM parameter), its entry in rpdk-config.json, its schema and its cfn test inputs.
    Init(init::Options),
    /// Print a stack's events.
    Events(deploy::EventsOptions),
    /// Print the provider logs a stack's handlers delivered, as AWS keeps them in the type's
    /// log group.
    Logs(logs::Options),
    /// Stop the local stack that deploy started in the background.
    Stop,
    /// Emit the registry schema of every type into schemas/, and its reference page into docs/.
    Schema(schema::Options),
    /// Build each handler for Lambda and write its bundle, registration package and
    /// execution-role template.
    Package(package::Options),
    /// Register the types as private extensions in the account and region of your AWS
    /// configuration: package, execution role, logging, upload, registration followed to its
    /// end, default version and type configuration.
    Submit(submit::Options),
    /// Run every test: unit, schema drift, the native contract suite and `cfn test` against
    /// the local stack.
    Test(test::Options),
    /// Send one action for one type to its handler on the local stack; print each event.
    Invoke(invoke::Options),
}

fn main() {
    let Cargo::Rpdk(cli) = Cargo::parse();
    // Interrupted, a command stops the local stack it was starting or owns (a background stack
    // it has handed on keeps running).
    let _ = ctrlc::set_handler(|| {
        rpdk_local::process::stop_started();
        std::process::exit(130);
    });
    let outcome: Result<()> = match cli.command {
        Command::Bench(options) => bench::run(&options),
        Command::Demo(options) => demo::run(&options),
        Command::Deploy(options) => deploy::run(&options),
        Command::Delete(options) => deploy::delete(&options),
        Command::Events(options) => deploy::events(&options),
        Command::Init(options) => init::run(&options),
        Command::Logs(options) => logs::run(&options),
        Command::Stop => stop(),
        Command::Schema(options) => schema::run(&options),
        Command::Package(options) => package::run(&options),
        Command::Submit(options) => submit::run(&options),
        Command::Test(options) => test::run(&options),
        Command::Invoke(options) => invoke::run(&options),
    };
    if let Err(error) = outcome {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

/// Stops the background local stack, if one runs.
fn stop() -> Result<()> {
    let project = project::Project::discover()?;
    let file = stack::background_file(&project)?;
    let _held = rpdk_local::Stack::hold(&file)?;
    if rpdk_local::stop_described(&file) {
        println!("The local stack is stopped; stacks deployed on it went with it.");
    } else {
        println!("No local stack runs in the background.");
    }
    Ok(())
}
