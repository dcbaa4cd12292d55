//! `Rpdk::Governance::EncryptionHook`: before CloudFormation creates or updates an S3 bucket or
//! an SQS queue, the template must say how it is encrypted at rest. A bucket names its
//! server-side encryption (`BucketEncryption`), optionally the algorithm the account requires;
//! a queue enables SQS-managed encryption or names a KMS key, optionally a KMS key always.
//! Every broken rule is named with the property and the fix, and each rule's result is an
//! annotation.

use rpdk::hook::{Annotation, HookHandler, HookHandlerSpec, HookMetadata, HookRequest, HookResult, Severity, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The hook.
pub struct EncryptionHook;

/// The account's rules, set with `SetTypeConfiguration` (or `RPDK_HOOK_CONFIGURATION` for a
/// Lambda hook).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Configuration {
    /// The server-side encryption every bucket must name; unset, any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_bucket_algorithm: Option<BucketAlgorithm>,
    /// Queues must be encrypted with a KMS key (`KmsMasterKeyId`), not SQS-managed keys
    /// (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_kms_for_queues: Option<bool>,
}

/// An S3 server-side encryption algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum BucketAlgorithm {
    /// S3-managed keys (SSE-S3).
    #[serde(rename = "AES256")]
    Aes256,
    /// KMS keys (SSE-KMS).
    #[serde(rename = "aws:kms")]
    AwsKms,
    /// KMS keys, two layers (DSSE-KMS).
    #[serde(rename = "aws:kms:dsse")]
    AwsKmsDsse,
}

impl BucketAlgorithm {
    fn as_str(self) -> &'static str {
        match self {
            Self::Aes256 => "AES256",
            Self::AwsKms => "aws:kms",
            Self::AwsKmsDsse => "aws:kms:dsse",
        }
    }
}

/// What the hook reads of an `AWS::S3::Bucket`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Bucket {
    bucket_encryption: Option<BucketEncryption>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct BucketEncryption {
    #[serde(default)]
    server_side_encryption_configuration: Vec<EncryptionRule>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct EncryptionRule {
    server_side_encryption_by_default: Option<ByDefault>,
}

#[derive(Deserialize, JsonSchema)]
struct ByDefault {
    #[serde(rename = "SSEAlgorithm")]
    algorithm: Option<String>,
}

/// What the hook reads of an `AWS::SQS::Queue`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
struct Queue {
    sqs_managed_sse_enabled: Option<bool>,
    kms_master_key_id: Option<String>,
}

const BUCKET: &str = "AWS::S3::Bucket";
const QUEUE: &str = "AWS::SQS::Queue";
const BUCKET_RULE: &str = "BucketEncryption";
const QUEUE_RULE: &str = "QueueEncryption";
const BUCKET_DOCS: &str = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-bucketencryption.html";
const QUEUE_DOCS: &str =
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html";

impl HookHandler for EncryptionHook {
    type Configuration = Configuration;
    type Context = rpdk::Empty;

    fn metadata() -> HookMetadata {
        let checked = HookHandlerSpec { target_names: &[BUCKET, QUEUE], permissions: &[] };
        HookMetadata {
            service: "Governance",
            hook: "EncryptionHook",
            description: "S3 buckets and SQS queues are created and updated only with encryption at rest declared",
            source_url: Some("https://github.com/rpdk-rs/rpdk-rs"),
            documentation_url: None,
            pre_create: Some(checked.clone()),
            pre_update: Some(checked),
            pre_delete: None,
        }
    }

    async fn pre_create(&self, req: &HookRequest<Configuration>, _context: &mut rpdk::Empty) -> HookResult {
        check(req)
    }

    async fn pre_update(&self, req: &HookRequest<Configuration>, _context: &mut rpdk::Empty) -> HookResult {
        check(req)
    }
}

fn check(req: &HookRequest<Configuration>) -> HookResult {
    let logical_id = req.target.logical_id.as_deref().unwrap_or("the resource");
    let broken = if req.target.name == BUCKET {
        bucket_fault(&req.properties::<Bucket>()?, &req.configuration)
            .map(|fault| (BUCKET_RULE, fault, "Declare BucketEncryption with an SSEAlgorithm", BUCKET_DOCS))
    } else {
        queue_fault(&req.properties::<Queue>()?, &req.configuration)
            .map(|fault| (QUEUE_RULE, fault, "Set SqsManagedSseEnabled: true or KmsMasterKeyId", QUEUE_DOCS))
    };
    let rule = if req.target.name == BUCKET { BUCKET_RULE } else { QUEUE_RULE };
    Ok(match broken {
        None => Verdict::compliant_with(format!("{logical_id} ({}) declares its encryption", req.target.name))
            .with_annotation(Annotation::passed(rule, "encryption at rest is declared")),
        Some((rule, fault, remediation, link)) => Verdict::non_compliant(format!("{logical_id}: {fault}"))
            .with_annotation(Annotation::failed(rule, fault, Severity::High).remediation(remediation, Some(link))),
    })
}

/// Why a bucket breaks the rule, or `None`.
fn bucket_fault(bucket: &Bucket, configuration: &Configuration) -> Option<String> {
    let algorithms: Vec<&str> = bucket
        .bucket_encryption
        .iter()
        .flat_map(|e| &e.server_side_encryption_configuration)
        .filter_map(|rule| rule.server_side_encryption_by_default.as_ref()?.algorithm.as_deref())
        .collect();
    let Some(found) = algorithms.first() else {
        return Some(
            "BucketEncryption: missing; add BucketEncryption.ServerSideEncryptionConfiguration with \
             ServerSideEncryptionByDefault.SSEAlgorithm (AES256, aws:kms or aws:kms:dsse)"
                .to_owned(),
        );
    };
    let required = configuration.required_bucket_algorithm?;
    (*found != required.as_str()).then(|| {
        format!(
            "BucketEncryption.ServerSideEncryptionConfiguration.0.ServerSideEncryptionByDefault.SSEAlgorithm: {found}, \
             but this account requires {}; set it to {}",
            required.as_str(),
            required.as_str()
        )
    })
}

/// Why a queue breaks the rule, or `None`.
fn queue_fault(queue: &Queue, configuration: &Configuration) -> Option<String> {
    let kms = queue.kms_master_key_id.as_deref().is_some_and(|key| !key.trim().is_empty());
    if configuration.require_kms_for_queues.unwrap_or(false) && !kms {
        return Some("KmsMasterKeyId: missing; this account requires queues encrypted with a KMS key".to_owned());
    }
    (!kms && queue.sqs_managed_sse_enabled != Some(true)).then(|| {
        "SqsManagedSseEnabled and KmsMasterKeyId: neither declares encryption; set SqsManagedSseEnabled: true, or \
         KmsMasterKeyId to a KMS key"
            .to_owned()
    })
}

#[cfg(test)]
mod tests;
