// Package compute runs the workspace's compute operations (create, attach, scale, detach, delete) and validates them with chains of named checks.
package compute
