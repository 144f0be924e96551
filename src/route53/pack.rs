//! Packing: one zone's change batches of many services into as few requests as Route53's limits
//! allow (PRODUCT.md §10), never splitting one service's batch, each request remembering which
//! services it holds so a failed request can be retried service by service.
