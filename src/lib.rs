//! carebook: a concurrency-safe doctor appointment booking service.
//!
//! Layers: [`domain`] (types, rules, the store port), [`store`] (database adapters),
//! [`http`] (routes and the error envelope), [`jobs`] (the expiry sweeper), and the thin
//! [`config`], [`telemetry`], [`observability`] (Prometheus metrics) and [`startup`] modules
//! the binary wires together.

pub mod admin;
pub mod auth;
pub mod config;
pub mod dburl;
pub mod domain;
pub mod files;
pub mod http;
pub mod jobs;
pub mod notify;
pub mod observability;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod transfer;
