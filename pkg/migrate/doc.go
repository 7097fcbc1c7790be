// Package migrate is gocluster's slot-migration engine. It moves sets of
// hash slots between masters of a live Redis Cluster without losing keys
// or failing clients:
//
//  1. for each source->target pair, a batch of slots is marked IMPORTING on
//     the target, then MIGRATING on the source (one pipeline each);
//  2. every slot of the batch is drained with CLUSTER GETKEYSINSLOT and
//     MIGRATE ... KEYS (one slot per MIGRATE, many MIGRATEs pipelined);
//  3. the batch is assigned with CLUSTER SETSLOT NODE on the target first,
//     then the source, then every other master.
//
// Independent pairs run in parallel. MIGRATE moves each key atomically, so
// nothing is ever deleted that was not copied; BUSYKEY (the key already
// exists on the target) is an error unless Options.Replace or both copies
// are identical; MIGRATE I/O errors and timeouts are retried with a longer
// timeout. When the context is cancelled, the batches already opened are
// finished (drained and assigned) so no slot is left open.
//
// Waiting for gossip convergence before a run is the caller's job
// (admin.WaitConverged): this package does not import pkg/admin.
package migrate
