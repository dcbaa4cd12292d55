//! One operation followed to its end through a [`Backend`], as CloudFormation follows it.

use std::time::SystemTime;

use rpdk::follow::{Bound, Operation};
use rpdk_local::Call;
use serde_json::Value;

use crate::backend::Backend;
use crate::template::is_custom;
use crate::{Error, custom};

/// Runs `call` to its end through `backend`, as CloudFormation does: a registry operation's
/// IN_PROGRESS events followed until its timeout, a custom resource's one request answered
/// through the response bucket. `on_event` sees each event as it arrives; answers the last.
pub fn operate(
    backend: &dyn Backend,
    call: &Call,
    on_event: &mut dyn FnMut(&Value) -> Result<(), Error>,
) -> Result<Value, Error> {
    if is_custom(&call.type_name) {
        let event = custom::operate(backend, call)?;
        on_event(&event)?;
        return Ok(event);
    }
    let operation = Operation::new(call.request(), Bound::Until(SystemTime::now() + call.timeout));
    rpdk_local::follow(
        &call.function,
        operation,
        &mut |request| backend.invoke(&call.function, request).map_err(Error::Backend),
        &mut |request| backend.prepare(request).map_err(Error::Backend),
        &mut |answer| on_event(&answer.event),
    )
}
