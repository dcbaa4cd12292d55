//! The framework's cost per invocation, without any service call: read the registry request
//! from the bytes Lambda delivers, dispatch it to the type (the desired model checked against
//! the type's schema first), encode the progress event to bytes. The model is about
//! 4 KiB of JSON, sent as CloudFormation sends it (stringified primitives, an unknown key, a
//! null), through a CREATE (the model in and out) and an UPDATE (in twice: desired and previous).
//!
//! `cargo bench -p rpdk-lambda --bench overhead` (also measures serde_json alone decoding and
//! encoding the model: the floor of any design with a typed model). The allocations of the same
//! invocations: `cargo bench -p rpdk-lambda --bench allocations`.

mod common;

use std::hint::black_box;

use common::{Echo, Service, request};
use criterion::{Criterion, criterion_group, criterion_main};
use rpdk_lambda::Types;
use serde_json::Value;

fn overhead(c: &mut Criterion) {
    let types = Types::new().with(Echo).expect("the bench type's schema");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    for action in ["CREATE", "UPDATE"] {
        let payload = request(action);
        let check = runtime.block_on(types.serve(&payload, None)).expect("an answer");
        assert_eq!(check["status"], "SUCCESS", "the bench request succeeds: {check}");
        c.bench_function(&format!("{action}: decode + dispatch + encode, 4 KiB model"), |b| {
            b.iter(|| {
                let answer = runtime.block_on(types.answer(black_box(&payload), None)).expect("an answer");
                black_box(serde_json::to_vec(&answer).expect("encodes"))
            });
        });
    }

    // The floor of any typed design: serde_json alone reading the model (already recast, no
    // checks) into the type, and writing it.
    let payload: Value = serde_json::from_slice(&request("CREATE")).expect("JSON");
    let mut model = payload["requestData"]["resourceProperties"].clone();
    model["MaxSessionDuration"] = 3600.into();
    model["Enabled"] = true.into();
    model.as_object_mut().map(|model| model.remove("Unknown"));
    let text = model.to_string();
    c.bench_function("the model alone: serde_json typed decode", |b| {
        b.iter(|| black_box(serde_json::from_str::<Service>(black_box(&text)).expect("decodes")))
    });
    let service: Service = serde_json::from_str(&text).expect("decodes");
    c.bench_function("the model alone: serde_json encode", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&service)).expect("encodes")))
    });
}

criterion_group!(benches, overhead);
criterion_main!(benches);
