package awsapi

import (
	"context"
)

// Tags: TagResource, UntagResource. Both answer {}.

type tagResourceRequest struct {
	SecretID *string   `json:"SecretId"`
	Tags     []wireTag `json:"Tags"`
}

func (h *Handler) tagResource(ctx context.Context, in *tagResourceRequest) (any, error) {
	if err := h.Secrets.TagResource(ctx, str(in.SecretID), tagsFromWire(in.Tags)); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type untagResourceRequest struct {
	SecretID *string  `json:"SecretId"`
	TagKeys  []string `json:"TagKeys"`
}

func (h *Handler) untagResource(ctx context.Context, in *untagResourceRequest) (any, error) {
	if err := h.Secrets.UntagResource(ctx, str(in.SecretID), in.TagKeys); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
