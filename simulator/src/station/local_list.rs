//! The local authorization list: SendLocalList (Full, Differential), its version, and the
//! look-up a charger makes when it cannot ask the server.

use serde_json::{Value, json};

use super::config_keys::{
    LOCAL_AUTH_LIST_ENABLED, LOCAL_AUTH_LIST_MAX_LENGTH, SEND_LOCAL_LIST_MAX_LENGTH,
};
use super::state::State;
use crate::ocpp::messages::send_local_list::SendLocalListRequest;
use crate::ocpp::types::{AuthorizationStatus, UpdateType};

pub(crate) fn send(state: &mut State, req: SendLocalListRequest) -> Value {
    let status = |s: &str| json!({ "status": s });
    if !state.configuration.flag(LOCAL_AUTH_LIST_ENABLED) {
        return status("NotSupported");
    }
    let entries = req.local_authorization_list.unwrap_or_default();
    let max_update = state.configuration.integer(SEND_LOCAL_LIST_MAX_LENGTH);
    if max_update.is_some_and(|max| entries.len() as u64 > max) {
        return status("Failed");
    }
    let mut list = match req.update_type {
        UpdateType::Full => Default::default(),
        UpdateType::Differential => {
            if req.list_version <= state.local_list_version {
                return status("VersionMismatch");
            }
            state.local_list.clone()
        }
    };
    for entry in entries {
        match entry.id_tag_info {
            Some(info) => {
                list.insert(entry.id_tag, info);
            }
            // Without idTagInfo an entry removes the tag (Differential); in a Full list it adds
            // nothing.
            None => {
                list.remove(&entry.id_tag);
            }
        }
    }
    let max_list = state.configuration.integer(LOCAL_AUTH_LIST_MAX_LENGTH);
    if max_list.is_some_and(|max| list.len() as u64 > max) {
        return status("Failed");
    }
    state.local_list = list;
    state.local_list_version = req.list_version;
    status("Accepted")
}

/// GetLocalListVersion: -1 when the feature is off, 0 when there is no list.
pub(crate) fn version(state: &State) -> i32 {
    if !state.configuration.flag(LOCAL_AUTH_LIST_ENABLED) {
        -1
    } else if state.local_list.is_empty() {
        0
    } else {
        state.local_list_version
    }
}

/// The tag's status in the local list (Invalid when absent or the list is off). An entry past
/// its expiry date is Expired.
pub(crate) fn lookup(state: &State, id_tag: &str) -> AuthorizationStatus {
    if !state.configuration.flag(LOCAL_AUTH_LIST_ENABLED) {
        return AuthorizationStatus::Invalid;
    }
    match state.local_list.get(id_tag) {
        Some(info) if info.expiry_date.is_some_and(|at| at < chrono::Utc::now()) => {
            AuthorizationStatus::Expired
        }
        Some(info) => info.status.clone(),
        None => AuthorizationStatus::Invalid,
    }
}
