//! Hook requests as CloudFormation sends them to a hook's function through the local stack's
//! Lambda endpoint: as a registered hook's (its configuration as `hookModel`, the hook role's
//! credentials as a JSON string) or as a Lambda hook's (`hookModel` naming the function, no
//! credentials).

use rpdk_local::Functions;
use serde_json::{Value, json};

use crate::{ACCOUNT_ID, principals, stack};

/// One hook, served by one function.
pub struct HookCall {
    /// The registered type name (`Rpdk::Governance::EncryptionHook`).
    pub type_name: &'static str,
    /// The function that serves it.
    pub function: &'static str,
}

impl HookCall {
    /// A registered hook's request about `target` (`targetType` RESOURCE, as `cfn test` sends
    /// even stack targets), with the hook role's credentials.
    pub fn registered(&self, point: &str, target: &str, target_model: Value, configuration: Value) -> Value {
        let credentials = &principals()["handlers"][self.type_name]["credentials"];
        assert!(credentials.is_object(), "the run has a role for {}", self.type_name);
        json!({
            "clientRequestToken": format!("token-{}", std::process::id()),
            "awsAccountId": ACCOUNT_ID,
            "stackId": format!("arn:aws:cloudformation:us-east-1:{ACCOUNT_ID}:stack/data/1"),
            "hookTypeName": self.type_name,
            "hookTypeVersion": "00000001",
            "hookModel": configuration,
            "actionInvocationPoint": point,
            "requestData": {
                "targetName": target,
                "targetType": "RESOURCE",
                "targetLogicalId": "Store",
                "targetModel": target_model,
                "callerCredentials": credentials.to_string(),
            },
            "requestContext": {"invocation": 1, "callbackContext": null}
        })
    }

    /// The same check as a Lambda hook (`alias`) sends it: `targetType` the target's name
    /// (`AWS::S3::Bucket`, `STACK`), no credentials, the function's configuration (none in the
    /// local stack) applying.
    pub fn lambda_hook(&self, alias: &str, point: &str, target: &str, target_model: Value) -> Value {
        let mut request = self.registered(point, target, target_model, Value::Null);
        request["hookTypeName"] = json!(alias);
        request["hookModel"] =
            json!({"LambdaFunction": format!("arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{}", self.function)});
        request["requestData"]["targetType"] = json!(target);
        request["requestData"].as_object_mut().expect("requestData").remove("callerCredentials");
        request
    }

    /// The hook's answer, which echoes the request's token.
    pub fn invoke(&self, request: &Value) -> Value {
        let answer = self.functions().invoke(self.function, request).expect("the hook answers");
        assert_eq!(answer["clientRequestToken"], request["clientRequestToken"], "the token is echoed: {answer}");
        answer
    }

    /// The hook's answer to raw bytes.
    pub fn invoke_bytes(&self, payload: &[u8]) -> String {
        self.functions().invoke_bytes(self.function, payload).expect("the hook answers")
    }

    fn functions(&self) -> Functions {
        Functions::new(&stack().lambda_url)
    }
}
