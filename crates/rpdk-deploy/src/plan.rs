//! Before anything is made: a template checked as a whole and bound to this deployment's
//! values (parameters, conditions, other stacks' exports), and the state a run starts from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rpdk_local::{ACCOUNT_ID, REGION, new_token};
use serde_json::Value;

use crate::evaluate::{Bindings, StackIdentity};
use crate::state::{StackState, Store};
use crate::status::{Stage, Status, Verb};
use crate::template::{self, Problem, Template};
use crate::{Error, ServedType, custom};

/// The other stacks on the same local stack, as far as exports go.
#[derive(Default)]
pub struct Neighbours {
    /// Export name → the stack exporting it, and the value.
    pub exports: BTreeMap<String, (String, Value)>,
    /// Export name → the stacks importing it.
    pub importers: BTreeMap<String, BTreeSet<String>>,
}

impl Neighbours {
    /// What the stacks under `work_dir` other than `own`, deployed on the local stack started as
    /// `generation`, export and import.
    pub fn read(work_dir: &Path, own: &str, generation: &str) -> Result<Self, Error> {
        let mut neighbours = Neighbours::default();
        let Ok(entries) = std::fs::read_dir(work_dir.join("stacks")) else { return Ok(neighbours) };
        for name in
            entries.flatten().map(|entry| entry.file_name().to_string_lossy().into_owned()).filter(|name| name != own)
        {
            let Ok(store) = Store::new(work_dir, &name) else { continue };
            let Some(state) = store.load()? else { continue };
            if state.local_stack != generation || !continues(&state) {
                continue;
            }
            for (export, value) in state.exports {
                neighbours.exports.insert(export, (name.clone(), value));
            }
            for import in state.imports {
                neighbours.importers.entry(import).or_default().insert(name.clone());
            }
        }
        Ok(neighbours)
    }
}

/// The values the template's `Fn::ImportValue`s find. Their names are known before anything
/// is made ([`checked`] proved it), so a missing export is refused then.
pub fn imports(
    template: &Template,
    bindings: &Bindings,
    neighbours: &Neighbours,
) -> Result<BTreeMap<String, Value>, Vec<Problem>> {
    let mut found = BTreeMap::new();
    let mut problems = Vec::new();
    for (at, name) in template.imports() {
        let Some(name) = bindings.evaluate_static(&name).as_ref().and_then(template::scalar_text) else { continue };
        match neighbours.exports.get(&name) {
            Some((_, value)) => {
                found.insert(name, value.clone());
            }
            None => problems.push(Problem::new(
                at,
                format!("no stack on this local stack exports {name}; deploy the stack that exports it first"),
            )),
        }
    }
    if problems.is_empty() { Ok(found) } else { Err(problems) }
}

/// Whether a saved state is the stack a deploy goes on with (not one rolled back or deleted
/// whole, which a deploy replaces with a new stack of the same name).
pub fn continues(state: &StackState) -> bool {
    !matches!(state.status, Status { verb: Verb::Rollback | Verb::Delete, stage: Stage::Complete })
}

/// The id of stack `name`: the saved stack's while a deploy goes on with it, else a new one.
pub fn stack_id(saved: Option<&StackState>, name: &str) -> String {
    saved.filter(|state| continues(state)).map_or_else(
        || format!("arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{name}/{}", new_token()),
        |state| state.stack_id.clone(),
    )
}

/// The state a deploy of stack `name` (id `stack_id`) runs on, and whether the run resumes an
/// interrupted one: the saved state as it is when its run was interrupted, else for a new run;
/// a new stack when none is saved, the saved one was rolled back or deleted whole, or it lived
/// on a local stack that has stopped since (`generation` names the running one).
pub fn starting_state(
    store: &Store,
    saved: Option<StackState>,
    name: &str,
    stack_id: &str,
    generation: &str,
) -> Result<(StackState, bool), Error> {
    match saved {
        Some(state) if state.local_stack == generation && continues(&state) => {
            if state.status.stage == Stage::InProgress {
                Ok((state, true))
            } else {
                Ok((StackState { run: new_token(), ..state }, false))
            }
        }
        _ => {
            store.clear_events()?;
            let state = StackState {
                stack_name: name.to_owned(),
                stack_id: stack_id.to_owned(),
                local_stack: generation.to_owned(),
                run: new_token(),
                ..StackState::default()
            };
            Ok((state, false))
        }
    }
}

/// The values never to be written: those of the template's `NoEcho` parameters.
pub fn no_echo_values(template: &Template, bindings: &Bindings) -> Vec<String> {
    template
        .parameters
        .iter()
        .filter(|(_, parameter)| parameter.no_echo)
        .filter_map(|(name, _)| bindings.parameters.get(name))
        .flat_map(|value| match value {
            Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            other => other.as_str().map(str::to_owned).into_iter().collect::<Vec<_>>(),
        })
        .collect()
}

/// The template checked and bound, or every problem found.
pub fn checked(
    text: &str,
    types: &BTreeMap<String, ServedType>,
    given: &BTreeMap<String, String>,
    stack: &StackIdentity,
) -> Result<(Template, Bindings), Vec<Problem>> {
    let document = template::parse_text(text).map_err(|problem| vec![problem])?;
    let infos = types.iter().map(|(name, served)| (name.clone(), served.info.clone())).collect();
    let template = Template::check(&document, &infos)?;
    let bindings = Bindings::new(&template, given, stack)?;
    let problems = deployment_problems(&template, &bindings, types);
    if problems.is_empty() { Ok((template, bindings)) } else { Err(problems) }
}

/// What this deployment's parameter values and conditions make wrong, found before anything
/// is made: a reference to a resource its condition leaves out, a function that fails on the
/// values given, an import whose name needs a resource, a ServiceToken naming no function here.
fn deployment_problems(template: &Template, bindings: &Bindings, types: &BTreeMap<String, ServedType>) -> Vec<Problem> {
    // The condition that leaves a resource out of this deployment, if one does.
    let left_out = |name: &str| {
        template.resources.get(name).and_then(|r| r.condition.clone().filter(|_| !bindings.holds(r.condition.as_ref())))
    };
    let unresolved = |name: &str, condition: &str| {
        format!(
            "{name} is not created in this deployment (its condition {condition} is false): refer to it only inside Fn::If [{condition}, ...]"
        )
    };
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for (name, resource) in template.resources.iter().filter(|(_, r)| bindings.holds(r.condition.as_ref())) {
        for dependency in &resource.depends_on {
            if let Some(condition) = left_out(dependency) {
                problems.push(Problem::new(format!("Resources.{name}.DependsOn"), unresolved(dependency, &condition)));
            }
        }
        values.push((format!("Resources.{name}.Properties"), &resource.properties));
    }
    for (name, output) in template.outputs.iter().filter(|(_, o)| bindings.holds(o.condition.as_ref())) {
        values.push((format!("Outputs.{name}.Value"), &output.value));
        values.extend(output.export.iter().map(|export| (format!("Outputs.{name}.Export.Name"), export)));
    }
    for (at, value) in values {
        let taken = bindings.taken(value);
        for (location, reference) in template::references(&taken, &at, false) {
            if let template::Reference::Name(name) | template::Reference::Attribute(name, _) = &reference
                && let Some(condition) = left_out(name)
            {
                problems.push(Problem::new(location, unresolved(name, &condition)));
            }
        }
        bindings.known_problems(&taken, &at, &mut problems);
    }
    for (at, name) in template.imports() {
        if bindings.evaluate_static(&name).as_ref().and_then(template::scalar_text).is_none() {
            problems.push(Problem::new(
                at,
                "the name must be known before anything is made: build it from parameters and pseudo parameters only",
            ));
        }
    }
    // A ServiceToken known before anything exists is checked now; one made of resources'
    // values, when its resource starts.
    let functions = types.values().map(|served| served.function.clone()).collect();
    for (name, resource) in template
        .resources
        .iter()
        .filter(|(_, r)| template::is_custom(&r.type_name) && bindings.holds(r.condition.as_ref()))
    {
        let Some(token) = resource.properties.get("ServiceToken").and_then(|token| bindings.evaluate_static(token))
        else {
            continue;
        };
        let problem = match token.as_str() {
            Some(token) => custom::function(token, &functions).err(),
            None => Some("the ServiceToken is not a string".to_owned()),
        };
        problems
            .extend(problem.map(|problem| Problem::new(format!("Resources.{name}.Properties.ServiceToken"), problem)));
    }
    problems
}

/// The resources this deployment creates, in waves: each wave needs only earlier ones.
pub fn waves(template: &Template, bindings: &Bindings) -> Vec<Vec<String>> {
    let mut level: BTreeMap<String, usize> = BTreeMap::new();
    // The template check proved the order exists.
    for name in template.creation_order().unwrap_or_default() {
        if bindings.holds(template.resources[&name].condition.as_ref()) {
            let deepest = template.dependencies(&name).iter().filter_map(|d| level.get(d)).max().map_or(0, |l| l + 1);
            level.insert(name, deepest);
        }
    }
    let mut waves: Vec<Vec<String>> = Vec::new();
    for (name, index) in level {
        if waves.len() <= index {
            waves.resize(index + 1, Vec::new());
        }
        waves[index].push(name);
    }
    waves
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::template::TypeInfo;

    fn served() -> BTreeMap<String, ServedType> {
        let schema = json!({"primaryIdentifier": ["/properties/RoleName"], "readOnlyProperties": ["/properties/Arn"]});
        BTreeMap::from([(
            "Rpdk::IAM::CrossAccountRole".to_owned(),
            ServedType { info: TypeInfo::from_schema(&schema), function: "cross-account-role".to_owned() },
        )])
    }

    #[test]
    fn an_operation_may_run_as_long_as_its_handler_timeout_or_the_registrys_default() {
        let info = TypeInfo::from_schema(
            &json!({"handlers": {"create": {"permissions": [], "timeoutInMinutes": 15}, "read": {"permissions": []}}}),
        );
        assert_eq!(info.timeout(rpdk::Action::Create), std::time::Duration::from_secs(15 * 60));
        assert_eq!(info.timeout(rpdk::Action::Read), rpdk_local::HANDLER_TIMEOUT);
    }

    fn problems(yaml: &str, given: &[(&str, &str)]) -> Vec<String> {
        let stack = StackIdentity {
            name: "s".into(),
            id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1".into(),
            region: REGION.into(),
            account: ACCOUNT_ID.into(),
            partition: "aws".into(),
            url_suffix: "amazonaws.com".into(),
        };
        let given = given.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        match checked(yaml, &served(), &given, &stack) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    const CONDITIONAL: &str = r#"
Parameters:
  Env: {Type: String}
  Ids: {Type: CommaDelimitedList, Default: "a,b"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Audit:
    Type: Rpdk::IAM::CrossAccountRole
    Condition: IsProd
  Partner:
    Type: Rpdk::IAM::CrossAccountRole
    DependsOn: Audit
    Properties:
      Description: !If [IsProd, !GetAtt Audit.Arn, none]
      ExternalId: !Ref Audit
      Path: !Select [1, !Ref Ids]
Outputs:
  AuditArn:
    Value: !GetAtt Audit.Arn
"#;

    #[test]
    fn what_the_parameters_leave_out_or_break_is_refused_before_anything_is_made() {
        assert_eq!(problems(CONDITIONAL, &[("Env", "prod")]), Vec::<String>::new());
        let unresolved = "Audit is not created in this deployment (its condition IsProd is false): refer to it only inside Fn::If [IsProd, ...]";
        assert_eq!(
            problems(CONDITIONAL, &[("Env", "dev"), ("Ids", "a")]),
            [
                format!("Resources.Partner.DependsOn: {unresolved}"),
                format!("Resources.Partner.Properties.ExternalId.Ref: {unresolved}"),
                "Resources.Partner.Properties.Path: Fn::Select: no value at index 1".to_owned(),
                format!("Outputs.AuditArn.Value.Fn::GetAtt: {unresolved}"),
            ]
        );
    }

    #[test]
    fn a_number_parameter_is_finite() {
        let template = "Parameters:\n  Port: {Type: Number, MaxValue: 10}\nResources:\n  R:\n    Type: Rpdk::IAM::CrossAccountRole\n";
        assert_eq!(problems(template, &[("Port", "NaN")]), ["Parameters.Port: the value is not a number"]);
        assert_eq!(problems(template, &[("Port", "9")]), Vec::<String>::new());
    }
}
