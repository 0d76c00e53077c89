package attach

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/kubeobj"
)

// Attachment is the record in the cluster naming who attached it.
type Attachment struct {
	WorkspaceID, WorkspaceName, ComputeName, ServerID string
	Time                                              time.Time
}

// ErrAttached is returned, wrapped with the existing attachment and how to
// detach it, when the cluster is attached elsewhere.
var ErrAttached = errors.New("cluster already attached")

// Keys of the attachment ConfigMap's data.
const (
	keyWorkspaceID   = "workspaceId"
	keyWorkspaceName = "workspaceName"
	keyComputeName   = "computeName"
	keyServerID      = "serverId"
	keyTime          = "time"
)

// Same reports whether b names the same attachment as a: the same
// workspace and compute, and the same server when both name one.
func (a Attachment) Same(b Attachment) bool {
	return a.WorkspaceID == b.WorkspaceID && a.ComputeName == b.ComputeName &&
		(a.ServerID == "" || b.ServerID == "" || a.ServerID == b.ServerID)
}

// Describe names the attachment and the command that detaches it.
func (a Attachment) Describe() string {
	ws := a.WorkspaceName
	if ws == "" {
		ws = a.WorkspaceID
	}
	s := fmt.Sprintf("attached to workspace %q (id %s) as compute %q", ws, a.WorkspaceID, a.ComputeName)
	if a.ServerID != "" {
		s += " by kubeml server " + a.ServerID
	}
	if !a.Time.IsZero() {
		s += " at " + a.Time.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s; detach it first with `kubeml ml computetarget detach -n %s -w %s`", s, a.ComputeName, ws)
}

func (a Attachment) configMap() *corev1.ConfigMap {
	t := a.Time
	if t.IsZero() {
		t = time.Now()
	}
	return &corev1.ConfigMap{
		ObjectMeta: kubeobj.Meta(Namespace, AttachmentName, map[string]string{kubeobj.ComponentLabel: "attachment"}),
		Data: map[string]string{
			keyWorkspaceID: a.WorkspaceID, keyWorkspaceName: a.WorkspaceName,
			keyComputeName: a.ComputeName, keyServerID: a.ServerID,
			keyTime: t.UTC().Format(time.RFC3339Nano),
		},
	}
}

func attachmentFrom(cm *corev1.ConfigMap) *Attachment {
	a := &Attachment{
		WorkspaceID: cm.Data[keyWorkspaceID], WorkspaceName: cm.Data[keyWorkspaceName],
		ComputeName: cm.Data[keyComputeName], ServerID: cm.Data[keyServerID],
	}
	a.Time, _ = time.Parse(time.RFC3339Nano, cm.Data[keyTime])
	return a
}

// ReadAttachment returns the cluster's attachment record, or nil if none.
func ReadAttachment(ctx context.Context, cs kubernetes.Interface) (*Attachment, error) {
	cm, err := cs.CoreV1().ConfigMaps(Namespace).Get(ctx, AttachmentName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read the attachment record %s/%s: %w", Namespace, AttachmentName, err)
	}
	return attachmentFrom(cm), nil
}

// Claim writes the attachment record with compare-and-swap: the ConfigMap
// is created, never updated, so of many concurrent claims exactly one
// wins. A record naming the same attachment (a retry) is success; any other
// record is ErrAttached.
func Claim(ctx context.Context, cs kubernetes.Interface, a Attachment) error {
	_, err := ClaimNew(ctx, cs, a)
	return err
}

// ClaimNew is Claim, and reports whether this call made the record: only
// then may a caller whose later step failed Release it (a concurrent
// request for the same attachment may own it).
func ClaimNew(ctx context.Context, cs kubernetes.Interface, a Attachment) (bool, error) {
	if err := ensureNamespace(ctx, cs); err != nil {
		return false, err
	}
	for range 3 {
		_, err := cs.CoreV1().ConfigMaps(Namespace).Create(ctx, a.configMap(), metav1.CreateOptions{})
		if err == nil {
			return true, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return false, fmt.Errorf("failed to write the attachment record %s/%s: %w", Namespace, AttachmentName, err)
		}
		cur, err := ReadAttachment(ctx, cs)
		if err != nil {
			return false, err
		}
		if cur == nil {
			continue // released between our create and read: try again
		}
		if cur.Same(a) {
			return false, nil
		}
		return false, fmt.Errorf("failed to attach compute %q: %w: %s", a.ComputeName, ErrAttached, cur.Describe())
	}
	return false, fmt.Errorf("failed to attach compute %q: the attachment record kept changing", a.ComputeName)
}

// Release deletes the attachment record if it names a, with preconditions
// on its UID and resourceVersion so that a record rewritten meanwhile is
// never deleted. No record is fine; a record naming another attachment is
// left alone and reported as ErrAttached.
func Release(ctx context.Context, cs kubernetes.Interface, a Attachment) error {
	cm, err := cs.CoreV1().ConfigMaps(Namespace).Get(ctx, AttachmentName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read the attachment record %s/%s: %w", Namespace, AttachmentName, err)
	}
	if cur := attachmentFrom(cm); !cur.Same(a) {
		return fmt.Errorf("failed to release compute %q: %w: %s", a.ComputeName, ErrAttached, cur.Describe())
	}
	pre := metav1.Preconditions{UID: &cm.UID, ResourceVersion: &cm.ResourceVersion}
	err = cs.CoreV1().ConfigMaps(Namespace).Delete(ctx, AttachmentName, metav1.DeleteOptions{Preconditions: &pre})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to delete the attachment record %s/%s: %w", Namespace, AttachmentName, err)
	}
	return nil
}
