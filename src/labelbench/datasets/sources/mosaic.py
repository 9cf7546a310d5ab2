"""Mosaics of four tiles of four different classes, drawn from another configured single-label dataset: the
multi-label data of the mosaic source."""

import yaml

from labelbench.datasets.sources.base import Source, get_source, register_source, sources_for
from labelbench.errors import ConfigError

#: a mosaic has four quadrants, each a tile of another class (labelbench.datasets.mosaic.QUADRANTS)
QUADRANTS = 4


@register_source
class Mosaic(Source):
    name = "mosaic"
    task = "mosaics"
    built_from = "tiles"
    schema = yaml.safe_load("""
required: [tiles, n_train, n_test]
properties:
  tiles: {type: string, description: Name of a single-label dataset with at least 4 classes to tile from.}
  n_train: {type: integer, minimum: 1, description: Training mosaics (from training tiles only).}
  n_test: {type: integer, minimum: 1, description: Test mosaics (from test tiles only).}
  seed: {$ref: "#/$defs/seed"}
""")

    def classes(self, spec, datasets):
        tiles = datasets.get(spec.get("tiles"))
        return get_source(tiles["source"]).classes(tiles, datasets) if tiles else None

    def image_side(self, spec, datasets):
        return 2 * datasets.get(spec.get("tiles"), {}).get("size", 16)

    def check(self, key, spec, datasets):
        tiles = spec["tiles"]
        if tiles not in datasets:
            raise ConfigError(f"{key}.tiles: {tiles!r} is not a dataset in this config; expected one of "
                              f"{sorted(datasets)}")
        single = sources_for(("single-label",))
        if datasets[tiles]["source"] not in single:
            raise ConfigError(f"{key}.tiles: {tiles!r} has source {datasets[tiles]['source']!r}; expected a "
                              f"single-label source ({', '.join(single)})")
        k = get_source(datasets[tiles]["source"]).classes(datasets[tiles], datasets)
        if k is not None and k < QUADRANTS:
            raise ConfigError(f"{key}.tiles: {tiles!r} has {k} classes; a mosaic needs tiles of at least {QUADRANTS} "
                              "classes (one per quadrant, all different)")

    def build(self, spec, inputs):
        from pathlib import Path

        from labelbench.datasets import mosaic
        from labelbench.datasets.store import load_dataset

        tiles = load_dataset(Path(inputs[0]).parent)
        return mosaic.from_tiles(tiles, spec["n_train"], spec["n_test"], spec.get("seed", 0))
