// Package client is kubeml's Go SDK: the only way the kubeml CLI (and any
// other Go program) talks to a kubeml workspace server. It never imports
// server internals; the wire types come from package api.
//
// A Client sends ARM-shaped JSON requests with `?api-version=` and
// `Authorization: Bearer <token>` and turns error bodies into *Error:
//
//	cfg, err := client.LoadConfig(client.Config{}, os.Getenv, dataDir)
//	c, err := client.New(cfg)
//	ws := api.WorkspaceID(sub, rg, "myworkspace")
//	t, err := c.CreateComputeTarget(ctx, ws, "myaks", client.ProvisioningConfiguration{ClusterPurpose: api.PurposeDevTest})
//	err = t.WaitForCompletion(ctx, os.Stdout)
//
// Typed methods cover workspaces, compute targets, managed clusters and
// Kubernetes versions. Long operations (creating, attaching, scaling,
// detaching, deleting) return a Poller that follows the server's
// Azure-AsyncOperation URL, honouring Retry-After; ComputeTarget wraps
// them the way the Python azureml-core SDK does (create, attach,
// wait_for_completion, detach, delete). Poller.Wait and
// WaitForCompletion show progress through the SDK's one printer, on the
// ProgressSink (a writer, and whether it is a terminal) the caller passes.
package client
