//! Heap allocations per invocation of the overhead benchmark's requests (decode + dispatch +
//! encode of a 4 KiB model), counted by a wrapper around the system allocator. Apart from the
//! timing benchmark, so that counting costs it nothing.
//!
//! `cargo bench -p rpdk-lambda --bench allocations`

mod common;

use std::alloc::System;

use common::{Echo, request};
use rpdk_lambda::Types;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    let types = Types::new().with(Echo).expect("the bench type's schema");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    for action in ["CREATE", "UPDATE"] {
        let payload = request(action);
        let invoke = || {
            let answer = runtime.block_on(types.answer(&payload, None)).expect("an answer");
            serde_json::to_vec(&answer).expect("encodes")
        };
        // The first invocation builds what later ones reuse (the schema's plan).
        let first = invoke();
        assert!(String::from_utf8_lossy(&first).contains("\"SUCCESS\""), "the bench request succeeds");
        let region = Region::new(GLOBAL);
        drop(invoke());
        let stats = region.change();
        println!(
            "{action}: {} allocations and {} reallocations ({} bytes allocated) per invocation, decode + dispatch + encode of a 4 KiB model",
            stats.allocations, stats.reallocations, stats.bytes_allocated,
        );
    }
}
