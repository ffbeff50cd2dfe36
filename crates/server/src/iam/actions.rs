//! Which IAM action each gRPC method is, and which resource (ARN) each
//! request acts on. One table: authentication reads the action from the
//! method's path; the handler names the resource from the request.

use funnel_proto::v1 as pb;

use crate::function::Naming;

/// gRPC method path → IAM action. A method missing here is refused (a
/// test checks that every method of every service is here).
pub const ACTIONS: &[(&str, &str)] = &[
    (
        "/funnel.v1.Functions/CreateFunction",
        "lambda:CreateFunction",
    ),
    ("/funnel.v1.Functions/GetFunction", "lambda:GetFunction"),
    (
        "/funnel.v1.Functions/GetFunctionConfiguration",
        "lambda:GetFunctionConfiguration",
    ),
    ("/funnel.v1.Functions/ListFunctions", "lambda:ListFunctions"),
    (
        "/funnel.v1.Functions/UpdateFunctionCode",
        "lambda:UpdateFunctionCode",
    ),
    (
        "/funnel.v1.Functions/UpdateFunctionConfiguration",
        "lambda:UpdateFunctionConfiguration",
    ),
    (
        "/funnel.v1.Functions/DeleteFunction",
        "lambda:DeleteFunction",
    ),
    (
        "/funnel.v1.Functions/PublishVersion",
        "lambda:PublishVersion",
    ),
    (
        "/funnel.v1.Functions/ListVersionsByFunction",
        "lambda:ListVersionsByFunction",
    ),
    ("/funnel.v1.Functions/CreateAlias", "lambda:CreateAlias"),
    ("/funnel.v1.Functions/GetAlias", "lambda:GetAlias"),
    ("/funnel.v1.Functions/UpdateAlias", "lambda:UpdateAlias"),
    ("/funnel.v1.Functions/DeleteAlias", "lambda:DeleteAlias"),
    ("/funnel.v1.Functions/ListAliases", "lambda:ListAliases"),
    (
        "/funnel.v1.Functions/PutFunctionConcurrency",
        "lambda:PutFunctionConcurrency",
    ),
    (
        "/funnel.v1.Functions/GetFunctionConcurrency",
        "lambda:GetFunctionConcurrency",
    ),
    (
        "/funnel.v1.Functions/DeleteFunctionConcurrency",
        "lambda:DeleteFunctionConcurrency",
    ),
    (
        "/funnel.v1.Functions/PutProvisionedConcurrencyConfig",
        "lambda:PutProvisionedConcurrencyConfig",
    ),
    (
        "/funnel.v1.Functions/GetProvisionedConcurrencyConfig",
        "lambda:GetProvisionedConcurrencyConfig",
    ),
    (
        "/funnel.v1.Functions/DeleteProvisionedConcurrencyConfig",
        "lambda:DeleteProvisionedConcurrencyConfig",
    ),
    (
        "/funnel.v1.Functions/GetAccountSettings",
        "lambda:GetAccountSettings",
    ),
    ("/funnel.v1.Functions/Invoke", "lambda:InvokeFunction"),
    (
        "/funnel.v1.Functions/RestartEnvironments",
        "funnel:RestartEnvironments",
    ),
    (
        "/funnel.v1.FunctionUrls/CreateFunctionUrlConfig",
        "lambda:CreateFunctionUrlConfig",
    ),
    (
        "/funnel.v1.FunctionUrls/GetFunctionUrlConfig",
        "lambda:GetFunctionUrlConfig",
    ),
    (
        "/funnel.v1.FunctionUrls/UpdateFunctionUrlConfig",
        "lambda:UpdateFunctionUrlConfig",
    ),
    (
        "/funnel.v1.FunctionUrls/DeleteFunctionUrlConfig",
        "lambda:DeleteFunctionUrlConfig",
    ),
    (
        "/funnel.v1.FunctionUrls/ListFunctionUrlConfigs",
        "lambda:ListFunctionUrlConfigs",
    ),
    ("/funnel.v1.Apis/CreateRoute", "apigateway:POST"),
    ("/funnel.v1.Apis/GetRoutes", "apigateway:GET"),
    ("/funnel.v1.Apis/DeleteRoute", "apigateway:DELETE"),
    ("/funnel.v1.Apis/GetApi", "apigateway:GET"),
    (
        "/funnel.v1.AsyncInvocation/PutFunctionEventInvokeConfig",
        "lambda:PutFunctionEventInvokeConfig",
    ),
    (
        "/funnel.v1.AsyncInvocation/UpdateFunctionEventInvokeConfig",
        "lambda:UpdateFunctionEventInvokeConfig",
    ),
    (
        "/funnel.v1.AsyncInvocation/GetFunctionEventInvokeConfig",
        "lambda:GetFunctionEventInvokeConfig",
    ),
    (
        "/funnel.v1.AsyncInvocation/DeleteFunctionEventInvokeConfig",
        "lambda:DeleteFunctionEventInvokeConfig",
    ),
    (
        "/funnel.v1.AsyncInvocation/ListDeadLetters",
        "funnel:ListDeadLetters",
    ),
    (
        "/funnel.v1.AsyncInvocation/RedriveDeadLetters",
        "funnel:RedriveDeadLetters",
    ),
    (
        "/funnel.v1.AsyncInvocation/PurgeDeadLetters",
        "funnel:PurgeDeadLetters",
    ),
    (
        "/funnel.v1.AsyncInvocation/GetQueueStats",
        "funnel:GetQueueStats",
    ),
    (
        "/funnel.v1.Layers/PublishLayerVersion",
        "lambda:PublishLayerVersion",
    ),
    (
        "/funnel.v1.Layers/GetLayerVersion",
        "lambda:GetLayerVersion",
    ),
    (
        "/funnel.v1.Layers/GetLayerVersionByArn",
        "lambda:GetLayerVersion",
    ),
    ("/funnel.v1.Layers/ListLayers", "lambda:ListLayers"),
    (
        "/funnel.v1.Layers/ListLayerVersions",
        "lambda:ListLayerVersions",
    ),
    (
        "/funnel.v1.Layers/DeleteLayerVersion",
        "lambda:DeleteLayerVersion",
    ),
    (
        "/funnel.v1.Layers/AddLayerVersionPermission",
        "lambda:AddLayerVersionPermission",
    ),
    (
        "/funnel.v1.Layers/RemoveLayerVersionPermission",
        "lambda:RemoveLayerVersionPermission",
    ),
    (
        "/funnel.v1.Layers/GetLayerVersionPolicy",
        "lambda:GetLayerVersionPolicy",
    ),
    (
        "/funnel.v1.Permissions/AddPermission",
        "lambda:AddPermission",
    ),
    (
        "/funnel.v1.Permissions/RemovePermission",
        "lambda:RemovePermission",
    ),
    ("/funnel.v1.Permissions/GetPolicy", "lambda:GetPolicy"),
    ("/funnel.v1.Buckets/CreateBucket", "s3:CreateBucket"),
    ("/funnel.v1.Buckets/DeleteBucket", "s3:DeleteBucket"),
    ("/funnel.v1.Buckets/ListBuckets", "s3:ListAllMyBuckets"),
    ("/funnel.v1.Buckets/PutObject", "s3:PutObject"),
    ("/funnel.v1.Buckets/GetObject", "s3:GetObject"),
    ("/funnel.v1.Buckets/HeadObject", "s3:GetObject"),
    ("/funnel.v1.Buckets/DeleteObject", "s3:DeleteObject"),
    // Authorized key by key, as S3 does.
    ("/funnel.v1.Buckets/DeleteObjects", "s3:DeleteObject"),
    ("/funnel.v1.Buckets/ListObjectsV2", "s3:ListBucket"),
    // And s3:GetObject on the source.
    ("/funnel.v1.Buckets/CopyObject", "s3:PutObject"),
    ("/funnel.v1.Buckets/CreateMultipartUpload", "s3:PutObject"),
    ("/funnel.v1.Buckets/UploadPart", "s3:PutObject"),
    ("/funnel.v1.Buckets/UploadPartCopy", "s3:PutObject"),
    ("/funnel.v1.Buckets/CompleteMultipartUpload", "s3:PutObject"),
    (
        "/funnel.v1.Buckets/AbortMultipartUpload",
        "s3:AbortMultipartUpload",
    ),
    (
        "/funnel.v1.Buckets/ListParts",
        "s3:ListMultipartUploadParts",
    ),
    (
        "/funnel.v1.Buckets/ListMultipartUploads",
        "s3:ListBucketMultipartUploads",
    ),
    (
        "/funnel.v1.Buckets/PutBucketNotificationConfiguration",
        "s3:PutBucketNotification",
    ),
    (
        "/funnel.v1.Buckets/GetBucketNotificationConfiguration",
        "s3:GetBucketNotification",
    ),
    ("/funnel.v1.Topics/CreateTopic", "sns:CreateTopic"),
    ("/funnel.v1.Topics/DeleteTopic", "sns:DeleteTopic"),
    ("/funnel.v1.Topics/ListTopics", "sns:ListTopics"),
    (
        "/funnel.v1.Topics/GetTopicAttributes",
        "sns:GetTopicAttributes",
    ),
    (
        "/funnel.v1.Topics/SetTopicAttributes",
        "sns:SetTopicAttributes",
    ),
    ("/funnel.v1.Topics/Subscribe", "sns:Subscribe"),
    ("/funnel.v1.Topics/Unsubscribe", "sns:Unsubscribe"),
    (
        "/funnel.v1.Topics/ListSubscriptionsByTopic",
        "sns:ListSubscriptionsByTopic",
    ),
    (
        "/funnel.v1.Topics/GetSubscriptionAttributes",
        "sns:GetSubscriptionAttributes",
    ),
    (
        "/funnel.v1.Topics/SetSubscriptionAttributes",
        "sns:SetSubscriptionAttributes",
    ),
    ("/funnel.v1.Topics/Publish", "sns:Publish"),
    ("/funnel.v1.Topics/PublishBatch", "sns:Publish"),
    ("/funnel.v1.Topics/PublishStream", "sns:Publish"),
    ("/funnel.v1.Events/PutRule", "events:PutRule"),
    ("/funnel.v1.Events/DescribeRule", "events:DescribeRule"),
    ("/funnel.v1.Events/ListRules", "events:ListRules"),
    ("/funnel.v1.Events/EnableRule", "events:EnableRule"),
    ("/funnel.v1.Events/DisableRule", "events:DisableRule"),
    ("/funnel.v1.Events/DeleteRule", "events:DeleteRule"),
    ("/funnel.v1.Events/PutTargets", "events:PutTargets"),
    ("/funnel.v1.Events/RemoveTargets", "events:RemoveTargets"),
    (
        "/funnel.v1.Events/ListTargetsByRule",
        "events:ListTargetsByRule",
    ),
    (
        "/funnel.v1.Events/PreviewSchedule",
        "funnel:PreviewSchedule",
    ),
    ("/funnel.v1.Clock/GetClock", "funnel:GetClock"),
    ("/funnel.v1.Admin/ListQuarantined", "funnel:ListQuarantined"),
    ("/funnel.v1.Admin/DropQuarantined", "funnel:DropQuarantined"),
    ("/funnel.v1.Admin/Backup", "funnel:Backup"),
    ("/funnel.v1.Clock/AdvanceClock", "funnel:AdvanceClock"),
    ("/funnel.v1.Clock/SetClock", "funnel:SetClock"),
    ("/funnel.v1.Faults/PutFault", "funnel:PutFault"),
    ("/funnel.v1.Faults/ListFaults", "funnel:ListFaults"),
    ("/funnel.v1.Faults/DeleteFault", "funnel:DeleteFault"),
    (
        "/funnel.v1.Recordings/StartRecording",
        "funnel:StartRecording",
    ),
    (
        "/funnel.v1.Recordings/StopRecording",
        "funnel:StopRecording",
    ),
    (
        "/funnel.v1.Recordings/ListRecordings",
        "funnel:ListRecordings",
    ),
    (
        "/funnel.v1.Recordings/ExportRecording",
        "funnel:ExportRecording",
    ),
    (
        "/funnel.v1.Recordings/ImportRecording",
        "funnel:ImportRecording",
    ),
    (
        "/funnel.v1.Recordings/DeleteRecording",
        "funnel:DeleteRecording",
    ),
    (
        "/funnel.v1.Recordings/ReplayRecording",
        "funnel:ReplayRecording",
    ),
    ("/funnel.v1.Traces/ListTraces", "xray:GetTraceSummaries"),
    ("/funnel.v1.Traces/GetTrace", "xray:BatchGetTraces"),
    ("/funnel.v1.Logs/GetLogEvents", "logs:GetLogEvents"),
    ("/funnel.v1.Logs/FilterLogEvents", "logs:FilterLogEvents"),
    ("/funnel.v1.Logs/StartLiveTail", "logs:StartLiveTail"),
    (
        "/funnel.v1.Logs/DescribeLogGroups",
        "logs:DescribeLogGroups",
    ),
    (
        "/funnel.v1.Logs/DescribeLogStreams",
        "logs:DescribeLogStreams",
    ),
    ("/funnel.v1.Metrics/GetMetrics", "cloudwatch:GetMetricData"),
    ("/funnel.v1.Iam/CreateAccount", "funnel:CreateAccount"),
    ("/funnel.v1.Iam/ListAccounts", "funnel:ListAccounts"),
    ("/funnel.v1.Iam/CreateUser", "iam:CreateUser"),
    ("/funnel.v1.Iam/GetUser", "iam:GetUser"),
    ("/funnel.v1.Iam/DeleteUser", "iam:DeleteUser"),
    ("/funnel.v1.Iam/ListUsers", "iam:ListUsers"),
    ("/funnel.v1.Iam/CreateAccessKey", "iam:CreateAccessKey"),
    ("/funnel.v1.Iam/UpdateAccessKey", "iam:UpdateAccessKey"),
    ("/funnel.v1.Iam/DeleteAccessKey", "iam:DeleteAccessKey"),
    ("/funnel.v1.Iam/ListAccessKeys", "iam:ListAccessKeys"),
    ("/funnel.v1.Iam/AttachUserPolicy", "iam:AttachUserPolicy"),
    ("/funnel.v1.Iam/DetachUserPolicy", "iam:DetachUserPolicy"),
    (
        "/funnel.v1.Iam/ListAttachedUserPolicies",
        "iam:ListAttachedUserPolicies",
    ),
    ("/funnel.v1.Iam/PutUserPolicy", "iam:PutUserPolicy"),
    ("/funnel.v1.Iam/GetUserPolicy", "iam:GetUserPolicy"),
    ("/funnel.v1.Iam/DeleteUserPolicy", "iam:DeleteUserPolicy"),
    ("/funnel.v1.Iam/ListUserPolicies", "iam:ListUserPolicies"),
    ("/funnel.v1.Sts/GetCallerIdentity", "sts:GetCallerIdentity"),
    (
        "/funnel.v1.SecretsManager/CreateSecret",
        "secretsmanager:CreateSecret",
    ),
    (
        "/funnel.v1.SecretsManager/PutSecretValue",
        "secretsmanager:PutSecretValue",
    ),
    (
        "/funnel.v1.SecretsManager/GetSecretValue",
        "secretsmanager:GetSecretValue",
    ),
    (
        "/funnel.v1.SecretsManager/DescribeSecret",
        "secretsmanager:DescribeSecret",
    ),
    (
        "/funnel.v1.SecretsManager/ListSecrets",
        "secretsmanager:ListSecrets",
    ),
    (
        "/funnel.v1.SecretsManager/UpdateSecretVersionStage",
        "secretsmanager:UpdateSecretVersionStage",
    ),
    (
        "/funnel.v1.SecretsManager/DeleteSecret",
        "secretsmanager:DeleteSecret",
    ),
    (
        "/funnel.v1.SecretsManager/RestoreSecret",
        "secretsmanager:RestoreSecret",
    ),
    ("/funnel.v1.Ssm/PutParameter", "ssm:PutParameter"),
    ("/funnel.v1.Ssm/GetParameter", "ssm:GetParameter"),
    // Each name is authorized on its own.
    ("/funnel.v1.Ssm/GetParameters", "ssm:GetParameters"),
    (
        "/funnel.v1.Ssm/GetParametersByPath",
        "ssm:GetParametersByPath",
    ),
    ("/funnel.v1.Ssm/DeleteParameter", "ssm:DeleteParameter"),
    (
        "/funnel.v1.Ssm/DescribeParameters",
        "ssm:DescribeParameters",
    ),
];

/// Methods that need no credential at all.
pub fn is_open(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.")
}

/// The IAM action of a method path.
pub fn action_of(path: &str) -> Option<&'static str> {
    ACTIONS
        .iter()
        .find(|(method, _)| *method == path)
        .map(|(_, action)| *action)
}

/// Actions every authenticated caller may take whatever its policies say
/// (AWS's `sts:GetCallerIdentity` needs no permission).
pub fn needs_no_permission(action: &str) -> bool {
    action == "sts:GetCallerIdentity"
}

/// Where a request is made from: the caller's account and region, and its
/// user name (what an empty `UserName` means).
pub struct Scope<'a> {
    pub naming: &'a Naming,
    pub user_name: &'a str,
}

impl Scope<'_> {
    /// A function's ARN, qualified as the call is; a name that does not
    /// parse is used as it is (the call then fails on the name).
    pub fn function(&self, name: &str, qualifier: &str) -> String {
        let qualifier = (!qualifier.is_empty()).then_some(qualifier);
        match self.naming.parse_function(name) {
            Ok(function) => self
                .naming
                .function_arn(&function.name, function.qualifier.as_deref().or(qualifier)),
            Err(_) => self.naming.function_arn(name, qualifier),
        }
    }

    /// The unqualified function's ARN, for an action on the whole
    /// function (a qualifier in the name is not what it acts on).
    fn whole_function(&self, name: &str) -> String {
        match self.naming.parse_function(name) {
            Ok(function) => self.naming.function_arn(&function.name, None),
            Err(_) => self.naming.function_arn(name, None),
        }
    }

    /// A subscription's full ARN (its topic's account), or what was given.
    fn subscription(&self, arn: &str) -> String {
        self.naming
            .subscription(arn)
            .unwrap_or_else(|_| arn.to_string())
    }

    fn layer(&self, name: &str, version: Option<i64>) -> String {
        if let Some(arn) = name.strip_prefix("arn:") {
            // The version read is the request's, not the ARN's.
            return match version {
                Some(v) => {
                    let base: Vec<&str> = arn.split(':').take(6).collect();
                    format!("arn:{}:{v}", base.join(":"))
                }
                None => name.to_string(),
            };
        }
        self.naming.layer_arn(&self.naming.key(name), version)
    }

    fn topic(&self, arn_or_name: &str) -> String {
        if arn_or_name.starts_with("arn:") {
            arn_or_name.to_string()
        } else {
            self.naming.topic_arn(&self.naming.key(arn_or_name))
        }
    }

    pub fn log_group(&self, group: &str) -> String {
        if group.starts_with("arn:") {
            return group.to_string();
        }
        format!(
            "arn:funnel:logs:{}:{}:log-group:{group}",
            self.naming.region, self.naming.account_id
        )
    }

    /// A secret's ARN as a request names it: an ARN as given; a name's
    /// without the random suffix (the handler authorizes an existing
    /// secret on its full ARN).
    pub fn secret(&self, id: &str) -> String {
        if id.starts_with("arn:") {
            return id.to_string();
        }
        format!(
            "arn:funnel:secretsmanager:{}:{}:secret:{id}",
            self.naming.region, self.naming.account_id
        )
    }

    /// A parameter's ARN (`...:parameter/app/x` for `/app/x`), a
    /// `:version` selector left out; an ARN as given, without one.
    pub fn parameter(&self, name: &str) -> String {
        let unselected = match name.rsplit_once(':') {
            Some((head, version))
                if version.bytes().all(|b| b.is_ascii_digit())
                    && (!name.starts_with("arn:") || head.contains(":parameter/")) =>
            {
                head
            }
            _ => name,
        };
        if unselected.starts_with("arn:") {
            return unselected.to_string();
        }
        format!(
            "arn:funnel:ssm:{}:{}:parameter/{}",
            self.naming.region,
            self.naming.account_id,
            unselected.trim_start_matches('/')
        )
    }

    fn user(&self, name: &str) -> String {
        let name = if name.is_empty() {
            self.user_name
        } else {
            name
        };
        format!("arn:funnel:iam::{}:user/{name}", self.naming.account_id)
    }
}

/// What a request acts on, as an ARN (`*` when it acts on no one thing:
/// lists, account settings, the clock).
pub trait Resource {
    fn resource(&self, scope: &Scope) -> String;
}

impl Scope<'_> {
    fn bucket(&self, name: &str) -> String {
        self.naming.bucket_arn(&self.naming.key(name))
    }

    fn object(&self, bucket: &str, key: &str) -> String {
        format!("{}/{key}", self.bucket(bucket))
    }

    fn rule(&self, name: &str) -> String {
        self.naming.rule_arn(&self.naming.key(name))
    }

    /// API Gateway's ARN of an API (`/apis/<id>`, the caller's when `id`
    /// is empty), with `tail` (`/routes`) after it.
    fn api(&self, id: &str, tail: &str) -> String {
        let id = match id {
            "" => crate::apis::api_id(&self.naming.account_id),
            id => id.to_string(),
        };
        format!(
            "arn:funnel:apigateway:{}::/apis/{id}{tail}",
            self.naming.region
        )
    }
}

macro_rules! resources {
    ($($ty:ident => |$r:ident, $s:ident| $body:expr;)*) => {
        $(impl Resource for pb::$ty {
            fn resource(&self, $s: &Scope) -> String {
                let $r = self;
                $body
            }
        })*
    };
}

resources! {
    CreateFunctionRequest => |r, s| s.whole_function(&r.function_name);
    GetFunctionRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    ListFunctionsRequest => |_r, _s| "*".into();
    UpdateFunctionCodeRequest => |r, s| s.whole_function(&r.function_name);
    UpdateFunctionConfigurationRequest => |r, s| s.whole_function(&r.function_name);
    DeleteFunctionRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    PublishVersionRequest => |r, s| s.whole_function(&r.function_name);
    ListVersionsByFunctionRequest => |r, s| s.whole_function(&r.function_name);
    CreateAliasRequest => |r, s| s.whole_function(&r.function_name);
    GetAliasRequest => |r, s| s.whole_function(&r.function_name);
    UpdateAliasRequest => |r, s| s.whole_function(&r.function_name);
    DeleteAliasRequest => |r, s| s.whole_function(&r.function_name);
    ListAliasesRequest => |r, s| s.whole_function(&r.function_name);
    PutFunctionConcurrencyRequest => |r, s| s.whole_function(&r.function_name);
    GetFunctionConcurrencyRequest => |r, s| s.whole_function(&r.function_name);
    PutProvisionedConcurrencyConfigRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    GetProvisionedConcurrencyConfigRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    GetAccountSettingsRequest => |_r, _s| "*".into();
    InvokeRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    RestartEnvironmentsRequest => |r, s| s.whole_function(&r.function_name);
    CreateFunctionUrlConfigRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    GetFunctionUrlConfigRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    UpdateFunctionUrlConfigRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    ListFunctionUrlConfigsRequest => |r, s| s.whole_function(&r.function_name);
    CreateRouteRequest => |r, s| s.api(&r.api_id, "/routes");
    GetRoutesRequest => |r, s| s.api(&r.api_id, "/routes");
    DeleteRouteRequest => |r, s| s.api(&r.api_id, "/routes");
    GetApiRequest => |r, s| s.api(&r.api_id, "");
    PutFunctionEventInvokeConfigRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    GetFunctionEventInvokeConfigRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    ListDeadLettersRequest => |r, s| s.whole_function(&r.function_name);
    RedriveDeadLettersRequest => |r, s| s.whole_function(&r.function_name);
    PurgeDeadLettersRequest => |r, s| s.whole_function(&r.function_name);
    GetQueueStatsRequest => |_r, _s| "*".into();
    PublishLayerVersionRequest => |r, s| s.layer(&r.layer_name, None);
    GetLayerVersionRequest => |r, s| s.layer(&r.layer_name, Some(r.version_number));
    GetLayerVersionByArnRequest => |r, _s| r.arn.clone();
    ListLayersRequest => |_r, _s| "*".into();
    ListLayerVersionsRequest => |r, s| s.layer(&r.layer_name, None);
    DeleteLayerVersionRequest => |r, s| s.layer(&r.layer_name, Some(r.version_number));
    AddLayerVersionPermissionRequest => |r, s| s.layer(&r.layer_name, Some(r.version_number));
    RemoveLayerVersionPermissionRequest => |r, s| s.layer(&r.layer_name, Some(r.version_number));
    GetLayerVersionPolicyRequest => |r, s| s.layer(&r.layer_name, Some(r.version_number));
    AddPermissionRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    RemovePermissionRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    GetPolicyRequest => |r, s| s.function(&r.function_name, &r.qualifier);
    CreateBucketRequest => |r, s| s.bucket(&r.bucket);
    DeleteBucketRequest => |r, s| s.bucket(&r.bucket);
    ListBucketsRequest => |_r, _s| "*".into();
    PutObjectRequest => |r, s| s.object(&r.bucket, &r.key);
    GetObjectRequest => |r, s| s.object(&r.bucket, &r.key);
    HeadObjectRequest => |r, s| s.object(&r.bucket, &r.key);
    DeleteObjectRequest => |r, s| s.object(&r.bucket, &r.key);
    DeleteObjectsRequest => |r, s| s.bucket(&r.bucket);
    ListObjectsV2Request => |r, s| s.bucket(&r.bucket);
    CopyObjectRequest => |r, s| s.object(&r.bucket, &r.key);
    CreateMultipartUploadRequest => |r, s| s.object(&r.bucket, &r.key);
    UploadPartRequest => |r, s| s.object(&r.bucket, &r.key);
    UploadPartCopyRequest => |r, s| s.object(&r.bucket, &r.key);
    CompleteMultipartUploadRequest => |r, s| s.object(&r.bucket, &r.key);
    AbortMultipartUploadRequest => |r, s| s.object(&r.bucket, &r.key);
    ListPartsRequest => |r, s| s.object(&r.bucket, &r.key);
    ListMultipartUploadsRequest => |r, s| s.bucket(&r.bucket);
    PutBucketNotificationConfigurationRequest => |r, s| s.bucket(&r.bucket);
    GetBucketNotificationConfigurationRequest => |r, s| s.bucket(&r.bucket);
    CreateTopicRequest => |r, s| s.topic(&r.name);
    DeleteTopicRequest => |r, s| s.topic(&r.topic_arn);
    ListTopicsRequest => |_r, _s| "*".into();
    GetTopicAttributesRequest => |r, s| s.topic(&r.topic_arn);
    SetTopicAttributesRequest => |r, s| s.topic(&r.topic_arn);
    SubscribeRequest => |r, s| s.topic(&r.topic_arn);
    UnsubscribeRequest => |r, s| s.subscription(&r.subscription_arn);
    ListSubscriptionsByTopicRequest => |r, s| s.topic(&r.topic_arn);
    GetSubscriptionAttributesRequest => |r, s| s.subscription(&r.subscription_arn);
    SetSubscriptionAttributesRequest => |r, s| s.subscription(&r.subscription_arn);
    PublishRequest => |r, s| s.topic(&r.topic_arn);
    PublishBatchRequest => |r, s| s.topic(&r.topic_arn);
    PutRuleRequest => |r, s| s.rule(&r.name);
    DescribeRuleRequest => |r, s| s.rule(&r.name);
    ListRulesRequest => |_r, _s| "*".into();
    EnableRuleRequest => |r, s| s.rule(&r.name);
    DisableRuleRequest => |r, s| s.rule(&r.name);
    DeleteRuleRequest => |r, s| s.rule(&r.name);
    PutTargetsRequest => |r, s| s.rule(&r.rule);
    RemoveTargetsRequest => |r, s| s.rule(&r.rule);
    ListTargetsByRuleRequest => |r, s| s.rule(&r.rule);
    PreviewScheduleRequest => |r, s| if r.name.is_empty() { "*".into() } else { s.rule(&r.name) };
    GetClockRequest => |_r, _s| "*".into();
    ListQuarantinedRequest => |_r, _s| "*".into();
    DropQuarantinedRequest => |_r, _s| "*".into();
    BackupRequest => |_r, _s| "*".into();
    AdvanceClockRequest => |_r, _s| "*".into();
    SetClockRequest => |_r, _s| "*".into();
    PutFaultRequest => |r, s| s.whole_function(&r.function_name);
    ListFaultsRequest => |_r, _s| "*".into();
    DeleteFaultRequest => |_r, _s| "*".into();
    StartRecordingRequest => |_r, _s| "*".into();
    StopRecordingRequest => |_r, _s| "*".into();
    ListRecordingsRequest => |_r, _s| "*".into();
    ExportRecordingRequest => |_r, _s| "*".into();
    ImportRecordingRequest => |_r, _s| "*".into();
    DeleteRecordingRequest => |_r, _s| "*".into();
    ReplayRecordingRequest => |r, s| s.whole_function(&r.function_name);
    ListTracesRequest => |_r, _s| "*".into();
    GetTraceRequest => |_r, _s| "*".into();
    GetLogEventsRequest => |r, s| s.log_group(&r.log_group_name);
    FilterLogEventsRequest => |r, s| s.log_group(&r.log_group_name);
    DescribeLogGroupsRequest => |_r, s| s.log_group("*");
    DescribeLogStreamsRequest => |r, s| s.log_group(if r.log_group_name.is_empty() { &r.log_group_identifier } else { &r.log_group_name });
    GetMetricsRequest => |r, s| if r.function_name.is_empty() { "*".into() } else { s.whole_function(&r.function_name) };
    CreateAccountRequest => |_r, _s| "*".into();
    ListAccountsRequest => |_r, _s| "*".into();
    CreateUserRequest => |r, s| if r.account_id.is_empty() { s.user(&r.user_name) } else { format!("arn:funnel:iam::{}:user/{}", r.account_id, r.user_name) };
    GetUserRequest => |r, s| s.user(&r.user_name);
    DeleteUserRequest => |r, s| s.user(&r.user_name);
    ListUsersRequest => |_r, s| format!("arn:funnel:iam::{}:user/*", s.naming.account_id);
    CreateAccessKeyRequest => |r, s| s.user(&r.user_name);
    UpdateAccessKeyRequest => |r, s| s.user(&r.user_name);
    DeleteAccessKeyRequest => |r, s| s.user(&r.user_name);
    ListAccessKeysRequest => |r, s| s.user(&r.user_name);
    AttachUserPolicyRequest => |r, s| s.user(&r.user_name);
    DetachUserPolicyRequest => |r, s| s.user(&r.user_name);
    ListAttachedUserPoliciesRequest => |r, s| s.user(&r.user_name);
    PutUserPolicyRequest => |r, s| s.user(&r.user_name);
    GetUserPolicyRequest => |r, s| s.user(&r.user_name);
    DeleteUserPolicyRequest => |r, s| s.user(&r.user_name);
    ListUserPoliciesRequest => |r, s| s.user(&r.user_name);
    GetCallerIdentityRequest => |_r, _s| "*".into();
    CreateSecretRequest => |r, s| s.secret(&r.name);
    PutSecretValueRequest => |r, s| s.secret(&r.secret_id);
    GetSecretValueRequest => |r, s| s.secret(&r.secret_id);
    DescribeSecretRequest => |r, s| s.secret(&r.secret_id);
    ListSecretsRequest => |_r, _s| "*".into();
    UpdateSecretVersionStageRequest => |r, s| s.secret(&r.secret_id);
    DeleteSecretRequest => |r, s| s.secret(&r.secret_id);
    RestoreSecretRequest => |r, s| s.secret(&r.secret_id);
    PutParameterRequest => |r, s| s.parameter(&r.name);
    GetParameterRequest => |r, s| s.parameter(&r.name);
    GetParametersRequest => |r, s| r.names.first().map_or_else(|| "*".into(), |n| s.parameter(n));
    GetParametersByPathRequest => |r, s| s.parameter(&r.path);
    DeleteParameterRequest => |r, s| s.parameter(&r.name);
    DescribeParametersRequest => |_r, _s| "*".into();
}

/// A live tail's resource: its first log group (each group is checked).
impl Resource for pb::StartLiveTailRequest {
    fn resource(&self, scope: &Scope) -> String {
        self.log_group_identifiers
            .first()
            .map_or_else(|| "*".into(), |group| scope.log_group(group))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use prost::Message as _;

    use super::*;

    /// Every method of every service has an action, and no action names a
    /// method that does not exist.
    #[test]
    fn every_method_has_an_action() {
        let set = prost_types::FileDescriptorSet::decode(funnel_proto::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let methods: BTreeSet<String> = set
            .file
            .iter()
            .flat_map(|file| {
                let package = file.package().to_string();
                file.service.iter().flat_map(move |service| {
                    let package = package.clone();
                    service.method.iter().map(move |method| {
                        format!("/{package}.{}/{}", service.name(), method.name())
                    })
                })
            })
            .collect();
        let listed: BTreeSet<String> = ACTIONS.iter().map(|(m, _)| m.to_string()).collect();
        assert_eq!(methods, listed);
        assert_eq!(listed.len(), ACTIONS.len(), "a method is listed twice");
    }

    /// docs/api.md gives each method's action, as this table does.
    #[test]
    fn the_api_doc_lists_each_action() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md"),
        )
        .expect("docs/api.md");
        for (path, action) in ACTIONS {
            let method = path.rsplit('/').next().unwrap();
            let row = format!("| `{method}`");
            let listed = doc
                .lines()
                .any(|line| line.starts_with(&row) && line.contains(&format!("| `{action}` |")));
            assert!(listed, "docs/api.md has no row for {method} with {action}");
        }
    }
}
