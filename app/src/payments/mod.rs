//! Payments: sending a payment through the bank so that it can never be sent twice, and following its status;
//! with their routes.

pub(crate) mod routes;
mod send;
