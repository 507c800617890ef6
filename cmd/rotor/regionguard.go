package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/rotorhq/rotor"
)

// checkHiddenRegions refuses a start whose served regions leave out a
// region that still holds secrets: a request signed for that region would
// be refused and its secrets would silently vanish from view (they stay
// stored). With allow it logs a warning instead.
func checkHiddenRegions(ctx context.Context, store rotor.Store, served []string, allow bool, log *slog.Logger) error {
	var counts map[string]int
	err := store.View(ctx, func(tx rotor.Tx) (err error) {
		counts, err = tx.Regions()
		return err
	})
	if err != nil {
		return fmt.Errorf("count the secrets of each region: %w", err)
	}
	var hidden []string
	for r := range counts {
		if !slices.Contains(served, r) {
			hidden = append(hidden, r)
		}
	}
	if len(hidden) == 0 {
		return nil
	}
	slices.Sort(hidden)
	parts := make([]string, len(hidden))
	for i, r := range hidden {
		parts[i] = fmt.Sprintf("%s (%d %s)", r, counts[r], plural(counts[r], "secret", "secrets"))
	}
	list := strings.Join(parts, ", ")
	if allow {
		log.Warn("regions not served still hold secrets; they are unreachable until served again", "hidden", list,
			"regions", strings.Join(served, ","))
		return nil
	}
	return fmt.Errorf("regions %s still hold secrets but are not served (regions = %s): their secrets would be unreachable; "+
		"add them to --regions (config regions, $ROTOR_REGIONS), or start with --allow-hidden-regions "+
		"(config allow_hidden_regions, $ROTOR_ALLOW_HIDDEN_REGIONS=true) to hide them on purpose",
		list, strings.Join(served, ","))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
