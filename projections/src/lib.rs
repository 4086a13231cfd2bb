//! Consentry's read side: what turns the event log into tables a host application queries. Today it holds the
//! transaction categoriser the spending read model uses.

pub mod categorise;
