//! The evcms charger simulator: filled in by the OCPP work (issue 3).
