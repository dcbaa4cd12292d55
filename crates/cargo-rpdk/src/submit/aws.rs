//! The calls of a submit, through the AWS SDK with the developer's own configuration: the
//! stacks of the execution roles, the logging and the bucket, the upload, and the registration
//! followed to its end.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use aws_config::BehaviorVersion;
use aws_sdk_cloudformation::Client as CloudFormation;
use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_cloudformation::types::{Capability, LoggingConfig, RegistrationStatus, RegistryType, Stack, StackStatus};
use aws_sdk_s3::primitives::ByteStream;
use futures::future::join_all;
use time::OffsetDateTime;
use time::macros::format_description;

use super::{BUCKET_STACK, Options, Registered, Submission, bucket_template, logging_stack, role_stack};

/// How often a stack or a registration is asked how it goes: soon at first, then less often.
const FIRST_POLL: Duration = Duration::from_secs(2);
const LONGEST_POLL: Duration = Duration::from_secs(15);
/// How often a registration still under way is reported.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// The SDK clients of a submit, for the configured account and region.
struct Clients {
    cloudformation: CloudFormation,
    s3: aws_sdk_s3::Client,
    account: String,
}

/// Submits every type at once; one outcome per submission, in order. Fails as a whole only
/// when nothing can be submitted (no configuration, no credentials, no bucket).
pub async fn submit_all(submissions: &[Submission], options: &Options) -> Result<Vec<Result<Registered>>> {
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let region = config
        .region()
        .context("no AWS region: set AWS_REGION, or a region in your profile (`aws configure`)")?
        .to_string();
    let identity = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| anyhow!("cannot tell who you are from your AWS configuration: {}", DisplayErrorContext(e)))?;
    let account = identity.account().context("STS GetCallerIdentity named no account")?.to_owned();
    // An endpoint of one's own (AWS_ENDPOINT_URL) serves buckets by path, not by host name.
    let s3 = aws_sdk_s3::config::Builder::from(&config).force_path_style(config.endpoint_url().is_some()).build();
    let clients =
        Clients { cloudformation: CloudFormation::new(&config), s3: aws_sdk_s3::Client::from_conf(s3), account };
    eprintln!(
        "submit: {} type(s) to account {} in {region}: {}",
        submissions.len(),
        clients.account,
        submissions.iter().map(|s| s.type_name.as_str()).collect::<Vec<_>>().join(", ")
    );
    let bucket = match &options.bucket {
        Some(bucket) => bucket.clone(),
        None => {
            let outputs = deploy_stack(&clients.cloudformation, BUCKET_STACK, bucket_template(), "submit").await?;
            outputs
                .get("BucketName")
                .cloned()
                .with_context(|| format!("stack {BUCKET_STACK} has no BucketName output"))?
        }
    };
    Ok(join_all(submissions.iter().map(|submission| submit(&clients, submission, &bucket, options))).await)
}

/// Registers one type: its role and logging stacks, the upload, the registration, then the
/// default version and the configuration.
async fn submit(clients: &Clients, submission: &Submission, bucket: &str, options: &Options) -> Result<Registered> {
    let name = submission.type_name.as_str();
    let cloudformation = &clients.cloudformation;
    let execution_role = match (&options.role_arn, &submission.role_template) {
        (Some(arn), _) => arn.clone(),
        (None, Some(template)) => {
            let stack = role_stack(&submission.stem);
            deploy_stack(cloudformation, &stack, template, name)
                .await?
                .remove("ExecutionRoleArn")
                .with_context(|| format!("stack {stack} has no ExecutionRoleArn output"))?
        }
        (None, None) => bail!("{name}: no execution role template"),
    };
    let logging = match &submission.logging {
        None => None,
        Some(logging) => {
            let stack = logging_stack(&submission.stem);
            let role = deploy_stack(cloudformation, &stack, &logging.template, name)
                .await?
                .remove("LogRoleArn")
                .with_context(|| format!("stack {stack} has no LogRoleArn output"))?;
            Some(LoggingConfig::builder().log_role_arn(role).log_group_name(&logging.group).build())
        }
    };

    let package = tokio::fs::read(&submission.package)
        .await
        .with_context(|| format!("cannot read {}", submission.package.display()))?;
    let stamp =
        OffsetDateTime::now_utc().format(format_description!("[year]-[month]-[day]T[hour]-[minute]-[second]"))?;
    let key = format!("{}-{stamp}.zip", submission.stem);
    let size = package.len();
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .expected_bucket_owner(&clients.account)
        .body(ByteStream::from(package))
        .send()
        .await
        .map_err(|e| failure(&format!("uploading to s3://{bucket}/{key}"), e))?;
    eprintln!("{name}: uploaded s3://{bucket}/{key} ({:.2} MiB)", size as f64 / 1_048_576.0);

    let registration = cloudformation
        .register_type()
        .r#type(if submission.hook { RegistryType::Hook } else { RegistryType::Resource })
        .type_name(name)
        .schema_handler_package(format!("s3://{bucket}/{key}"))
        .execution_role_arn(&execution_role)
        .set_logging_config(logging.clone())
        .send()
        .await
        .map_err(|e| failure("RegisterType", e))?;
    let token = registration.registration_token().context("RegisterType returned no registration token")?;
    let version_arn = follow_registration(cloudformation, name, token, options.timeout).await?;

    if options.set_default {
        cloudformation
            .set_type_default_version()
            .arn(&version_arn)
            .send()
            .await
            .map_err(|e| failure("SetTypeDefaultVersion", e))?;
    }
    let described =
        cloudformation.describe_type().arn(&version_arn).send().await.map_err(|e| failure("DescribeType", e))?;
    let type_arn = version_arn.rsplit_once('/').map_or(version_arn.as_str(), |(arn, _)| arn).to_owned();
    let configuration_arn = match &submission.configuration {
        None => None,
        Some((_, configuration)) => cloudformation
            .set_type_configuration()
            .type_arn(&type_arn)
            .configuration(configuration)
            .send()
            .await
            .map_err(|e| failure("SetTypeConfiguration", e))?
            .configuration_arn()
            .map(str::to_owned),
    };
    Ok(Registered {
        type_arn,
        is_default: described.is_default_version().unwrap_or(false),
        version_arn,
        execution_role,
        log_group: logging.and_then(|l| l.log_group_name().map(str::to_owned)),
        configuration_arn,
    })
}

/// Asks how the registration goes until it ends or `timeout` runs out, reporting it; the
/// version's ARN when it is complete, the service's description when it failed.
async fn follow_registration(
    cloudformation: &CloudFormation,
    name: &str,
    token: &str,
    timeout: Duration,
) -> Result<String> {
    let started = Instant::now();
    let mut delay = FIRST_POLL;
    let mut reported: Option<(RegistrationStatus, Instant)> = None;
    loop {
        let described = cloudformation
            .describe_type_registration()
            .registration_token(token)
            .send()
            .await
            .map_err(|e| failure("DescribeTypeRegistration", e))?;
        let status = described.progress_status().cloned().unwrap_or(RegistrationStatus::InProgress);
        let description = described.description().unwrap_or_default();
        match status {
            RegistrationStatus::Complete => {
                let arn = described.type_version_arn().context("a complete registration named no version")?;
                eprintln!("{name}: registered {arn} in {}", elapsed(started));
                return Ok(arn.to_owned());
            }
            RegistrationStatus::Failed => bail!("the registration failed: {description}"),
            _ => {}
        }
        let due = reported.as_ref().is_none_or(|(shown, at)| *shown != status || at.elapsed() >= PROGRESS_EVERY);
        if due {
            eprintln!("{name}: registration {} after {} ({description})", status.as_str(), elapsed(started));
            reported = Some((status.clone(), Instant::now()));
        }
        if started.elapsed() + delay > timeout {
            bail!(
                "the registration is still {} after {}, the --timeout; it goes on without us: follow it with \
                 `aws cloudformation describe-type-registration --registration-token {token}`",
                status.as_str(),
                elapsed(started)
            );
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(LONGEST_POLL);
    }
}

/// Creates the stack, or updates it when its template differs from `template`; waits until it
/// is done and answers its outputs.
async fn deploy_stack(
    cloudformation: &CloudFormation,
    stack: &str,
    template: &str,
    for_whom: &str,
) -> Result<BTreeMap<String, String>> {
    let existing = match cloudformation.describe_stacks().stack_name(stack).send().await {
        Ok(found) => found.stacks().first().and_then(|s| s.stack_status().cloned()),
        Err(error) if error.message().is_some_and(|m| m.contains("does not exist")) => None,
        Err(error) => return Err(failure(&format!("DescribeStacks {stack}"), error)),
    };
    let verb = match existing {
        None => {
            cloudformation
                .create_stack()
                .stack_name(stack)
                .template_body(template)
                .capabilities(Capability::CapabilityIam)
                .send()
                .await
                .map_err(|e| failure(&format!("CreateStack {stack}"), e))?;
            "created"
        }
        Some(StackStatus::RollbackComplete) => bail!(
            "stack {stack} is ROLLBACK_COMPLETE, what a failed create leaves: see why in its events, delete it \
             (`aws cloudformation delete-stack --stack-name {stack}`) and submit again"
        ),
        Some(status) if status.as_str().ends_with("_IN_PROGRESS") => {
            bail!("stack {stack} is {}: another change is under way; submit again once it ends", status.as_str())
        }
        Some(_) => {
            let current = cloudformation
                .get_template()
                .stack_name(stack)
                .send()
                .await
                .map_err(|e| failure(&format!("GetTemplate {stack}"), e))?;
            if current.template_body() == Some(template) {
                return stack_outputs(cloudformation, stack).await;
            }
            match cloudformation
                .update_stack()
                .stack_name(stack)
                .template_body(template)
                .capabilities(Capability::CapabilityIam)
                .send()
                .await
            {
                Ok(_) => "updated",
                Err(error) if error.message().is_some_and(|m| m.contains("No updates are to be performed")) => {
                    return stack_outputs(cloudformation, stack).await;
                }
                Err(error) => return Err(failure(&format!("UpdateStack {stack}"), error)),
            }
        }
    };
    let started = Instant::now();
    let mut delay = FIRST_POLL;
    loop {
        let status = stack_status(cloudformation, stack).await?;
        match status.as_str() {
            "CREATE_COMPLETE" | "UPDATE_COMPLETE" => break,
            in_progress if in_progress.ends_with("_IN_PROGRESS") => {}
            ended => bail!("stack {stack} ended {ended}: {}", first_failure(cloudformation, stack).await),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(LONGEST_POLL);
    }
    eprintln!("{for_whom}: stack {stack} {verb} in {}", elapsed(started));
    stack_outputs(cloudformation, stack).await
}

/// The stack as DescribeStacks answers it.
async fn describe(cloudformation: &CloudFormation, stack: &str) -> Result<Stack> {
    cloudformation
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| failure(&format!("DescribeStacks {stack}"), e))?
        .stacks
        .and_then(|stacks| stacks.into_iter().next())
        .with_context(|| format!("DescribeStacks {stack} answered no stack"))
}

async fn stack_status(cloudformation: &CloudFormation, stack: &str) -> Result<StackStatus> {
    describe(cloudformation, stack).await?.stack_status.with_context(|| format!("stack {stack} has no status"))
}

async fn stack_outputs(cloudformation: &CloudFormation, stack: &str) -> Result<BTreeMap<String, String>> {
    Ok(describe(cloudformation, stack)
        .await?
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect())
}

/// Why a stack failed: the reason of its earliest failed resource, as its events tell it.
async fn first_failure(cloudformation: &CloudFormation, stack: &str) -> String {
    let Ok(events) = cloudformation.describe_stack_events().stack_name(stack).send().await else {
        return format!("see `aws cloudformation describe-stack-events --stack-name {stack}`");
    };
    events
        .stack_events()
        .iter()
        .rev()
        .find(|e| e.resource_status().is_some_and(|s| s.as_str().ends_with("_FAILED")))
        .map_or_else(
            || "no resource reported a failure".to_owned(),
            |e| {
                format!(
                    "{} {}: {}",
                    e.logical_resource_id().unwrap_or_default(),
                    e.resource_status().map(|s| s.as_str()).unwrap_or_default(),
                    e.resource_status_reason().unwrap_or_default()
                )
            },
        )
}

/// An SDK failure as the user needs it: the call and the service's code and message; the HTTP
/// status of an answer that held no error; or the chain of causes when no service answered.
fn failure<E>(call: &str, error: aws_sdk_cloudformation::error::SdkError<E, HttpResponse>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (error.code(), error.message(), error.raw_response()) {
        (Some(code), Some(message), _) => anyhow!("{call}: {code}: {message}"),
        (_, _, Some(response)) => {
            anyhow!("{call}: the service answered HTTP {} without an error it could name", response.status().as_u16())
        }
        _ => anyhow!("{call}: {}", DisplayErrorContext(error)),
    }
}

fn elapsed(since: Instant) -> String {
    let seconds = since.elapsed().as_secs();
    if seconds < 60 { format!("{seconds} s") } else { format!("{} min {} s", seconds / 60, seconds % 60) }
}
