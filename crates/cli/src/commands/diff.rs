//! `diff`: what `deploy` (one service, in its flags) or `apply -f` (a file) would change, sending
//! nothing. Exit 0 when nothing would change, 1 when something would, 2 on any error.

use serde_json::json;

use crate::args::DiffArgs;
use crate::commands::apply::{ignored_keys, require_namespace};
use crate::commands::{Ctx, Outcome};
use crate::exit::CliError;
use crate::ledger::Ledger;
use crate::plan::{plan_namespace, plan_service};

pub(crate) async fn diff(ctx: &Ctx, args: DiffArgs) -> Result<Outcome, CliError> {
    let (plans, doc) = match (&args.path, &args.namespace, &args.service, &args.image) {
        (Some(path), Some(namespace), _, _) => {
            let input = args.handed.input(path, namespace, &args.sites, args.ignore_unsupported);
            let file = ctx.images.read_stack(&input).await?;
            let client = ctx.client().await?;
            let ledger = Ledger::read(&client).await?;
            require_namespace(&ledger, namespace)?;
            let ignored = ignored_keys(&file);
            let plans = plan_namespace(&ledger, namespace, file.services, args.prune)?;
            let doc = json!({
                "namespace": namespace,
                "services": plans.iter().map(|p| p.to_json()).collect::<Vec<_>>(),
                "ignored_keys": ignored,
            });
            (plans, doc)
        }
        (None, _, Some(service), Some(image)) => {
            let spec = ctx.images.spec_from_args(image, &args.sites, &args.spec).await?;
            let client = ctx.client().await?;
            let ledger = Ledger::read(&client).await?;
            let plan = plan_service(&ledger, service.clone(), spec, false)?;
            let doc = plan.to_json();
            (vec![plan], doc)
        }
        _ => return Err(CliError::Usage("diff needs -f FILE --namespace N, or namespace/service --image ...".into())),
    };
    ctx.out.emit(&doc, || plans.iter().map(|p| p.to_text()).collect());
    Ok(if plans.iter().any(|p| p.action.changes_chain()) { Outcome::Changes } else { Outcome::Done })
}
