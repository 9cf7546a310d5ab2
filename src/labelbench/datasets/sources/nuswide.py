"""A NUS-WIDE-format subset (``small_train.json``, ``small_test.json`` and the images they name), from a local
folder or tar/zip archive or from a URL: the tagging source's data (NUS-WIDE has no official archive)."""

import yaml

from labelbench.datasets.sources.base import Source, register_source


@register_source
class NusWide(Source):
    name = "nuswide"
    task = "tags"
    layout = "nuswide"
    upstream_training_images = 161_789
    path_kind = "a folder or a tar/zip archive"
    schema = yaml.safe_load("""
properties:
  url: {type: [string, "null"], description: URL of a tar/zip archive of a NUS-WIDE-format subset., default: null}
  md5: {anyOf: [{$ref: "#/$defs/md5"}, {type: "null"}], description: md5 of that archive., default: null}
  filename: {type: [string, "null"], description: Name to save the archive under (default the URL's last part)., default: null}
  path: {type: [string, "null"], description: "A local folder or tar/zip archive with small_train.json, small_test.json and the images; the two JSON files sit at its top or in one folder directly under it (nowhere else is looked at).", default: null}
  archive_limits: {$ref: "#/$defs/archive_limits"}
""")

    def remote_files(self, spec):
        if not spec.get("url"):
            return {}
        name = spec.get("filename") or spec["url"].rstrip("/").rsplit("/", 1)[-1]
        return {name: (spec["url"], spec.get("md5"))}

    def inputs(self, spec, downloads):
        # with a url, the download; else the local folder or archive, read directly by the build (user_path)
        return [f"{downloads}/{name}" for name in self.remote_files(spec)]

    def user_path(self, spec):
        return None if spec.get("url") else spec.get("path")

    def not_official(self, spec):
        if spec.get("url"):
            return f"NUS-WIDE has no official archive to recognise, and this copy comes from {spec['url']}"
        return ""  # a path: folder is taken on the config's word (what the source did)

    def build_folder(self, spec, inputs, staging):
        from labelbench.datasets import real

        real.nuswide(inputs[0] if inputs else spec["path"], staging, real.ArchiveLimits.from_spec(spec))
        return {}
