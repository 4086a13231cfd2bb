//! `consentry tenant create|list|rotate-key`: the tenants of the store `DATABASE_URL` names and their API keys.
//! A key is printed once, when it is made; `list` never shows one. `--json` prints one JSON document for scripts.

use clap::Subcommand;
use consentry::tenants::TenantView;
use consentry_domain::TenantId;
use serde::Serialize;

use super::{open_engine, CliResult};

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Creates a tenant and prints its id and API key (the only time the key is shown).
    Create {
        name: String,
        /// Print `{"tenantId": …, "apiKey": …}`.
        #[arg(long)]
        json: bool,
    },
    /// Lists the tenants: id, name and when each was created (never a key).
    List {
        /// Print one JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Gives a tenant a new API key and prints it; the old key stops working at once.
    RotateKey {
        /// The tenant's id.
        id: String,
        /// Print `{"tenantId": …, "apiKey": …}`.
        #[arg(long)]
        json: bool,
    },
}

/// A key just made, as `--json` prints it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IssuedKey {
    tenant_id: TenantId,
    api_key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListedTenant {
    tenant_id: TenantId,
    name: String,
    created_at: String,
}

impl From<TenantView> for ListedTenant {
    fn from(tenant: TenantView) -> Self {
        Self {
            tenant_id: tenant.id,
            name: tenant.name,
            created_at: tenant.created_at.to_rfc3339(),
        }
    }
}

pub async fn run(command: TenantCommand) -> CliResult {
    let engine = open_engine().await?;
    let outcome = match command {
        TenantCommand::Create { name, json } => {
            let (tenant_id, api_key) = engine.create_tenant(&name).await?;
            print_key(
                &IssuedKey { tenant_id, api_key },
                json,
                &format!("created tenant {name:?}"),
            )
        }
        TenantCommand::List { json } => {
            let tenants: Vec<ListedTenant> = engine.list_tenants().await?.into_iter().map(Into::into).collect();
            if json {
                println!("{}", serde_json::to_string(&tenants)?);
            } else {
                println!("{:<36}  {:<25}  name", "tenant id", "created");
                for tenant in &tenants {
                    println!("{:<36}  {:<25}  {}", tenant.tenant_id, tenant.created_at, tenant.name);
                }
            }
            Ok(())
        }
        TenantCommand::RotateKey { id, json } => {
            let tenant_id = TenantId::parse(&id)?;
            let api_key = engine.rotate_api_key(tenant_id).await?;
            print_key(
                &IssuedKey { tenant_id, api_key },
                json,
                "rotated the API key; the old one is refused from now on",
            )
        }
    };
    engine.database().close().await;
    outcome
}

fn print_key(issued: &IssuedKey, json: bool, what: &str) -> CliResult {
    if json {
        println!("{}", serde_json::to_string(issued)?);
    } else {
        println!("{what}");
        println!("tenant id: {}", issued.tenant_id);
        println!("API key:   {}", issued.api_key);
        println!("The key is shown only now: keep it (the store holds its SHA-256 alone).");
    }
    Ok(())
}
