//! Every type of the project, its inputs alone driving it: CREATE, the same CREATE retried,
//! READ equal to what CREATE answered, UPDATE, LIST finding it, DELETE, and READ then
//! `NotFound`. A type made by `cargo rpdk init` is covered here with no test of its own.

use contract_tests::project::{Project, ProjectType};
use contract_tests::{Handler, assert_model, panic_message, token, unique};
use serde_json::Value;

#[test]
fn every_type_lives_through_its_whole_lifecycle_driven_by_its_inputs() {
    let project = Project::load();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = project
            .types
            .iter()
            .map(|served| (served.type_name.clone(), scope.spawn(move || lifecycle(served))))
            .collect();
        runs.into_iter()
            .filter_map(|(type_name, run)| {
                run.join().err().map(|panic| format!("{type_name}: {}", panic_message(&*panic)))
            })
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn lifecycle(served: &ProjectType) {
    // The run's own names: the cfn test of the same inputs runs after, under the fixtures' RunId.
    let run_id = unique("life");
    let create = served.input("inputs_1_create.json", &run_id);
    let update = served.input("inputs_1_update.json", &run_id);
    let mut handler = Handler::new(&served.binary, &served.type_name);
    if let Some(configuration) = served.type_configuration(&run_id) {
        handler = handler.with_type_configuration(configuration);
    }
    let succeeded = |event: Value, what: &str| -> Value {
        assert_eq!(event["status"], "SUCCESS", "{what}: {event}");
        event["resourceModel"].clone()
    };

    let creating = token();
    let created = succeeded(handler.call("CREATE", &creating, create.clone(), None), "CREATE");
    let identifier = served.identifier(&created);
    let retried = succeeded(handler.call("CREATE", &creating, create, None), "the same CREATE retried");
    assert_eq!(served.identifier(&retried), identifier, "a retried CREATE answers the same resource");

    let read = succeeded(handler.call("READ", &token(), identifier.clone(), None), "READ");
    let expected = served.without_write_only(&created);
    assert_model(&expected, &read, &served.unordered());
    let extra: Vec<&String> =
        read.as_object().into_iter().flatten().map(|(k, _)| k).filter(|k| expected.get(*k).is_none()).collect();
    assert!(extra.is_empty(), "READ answers {extra:?}, which CREATE did not");

    let mut desired = update.clone();
    merge(&mut desired, &identifier);
    let updated = succeeded(handler.call("UPDATE", &token(), desired, Some(created.clone())), "UPDATE");
    assert_model(&served.without_write_only(&update), &updated, &served.unordered());

    let listed = handler.list_all_with(served.list_input(&created));
    assert!(listed.iter().any(|model| served.identifier(model) == identifier), "LIST does not find {identifier}");

    succeeded(handler.call("DELETE", &token(), identifier.clone(), None), "DELETE");
    let gone = handler.call("READ", &token(), identifier, None);
    assert_eq!((gone["status"].as_str(), gone["errorCode"].as_str()), (Some("FAILED"), Some("NotFound")), "{gone}");
}

/// `model` with `identifier`'s properties, as CloudFormation sends an update.
fn merge(model: &mut Value, identifier: &Value) {
    if let (Some(model), Some(identifier)) = (model.as_object_mut(), identifier.as_object()) {
        model.extend(identifier.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}
