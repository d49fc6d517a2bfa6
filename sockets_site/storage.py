"""The static files storage of a deployed site: WhiteNoise's compressed, hashed files,
with the relative `import` lines of the project's ES modules rewritten to hashed names.

Rules:
- Page scripts are plain ES modules that import each other by relative path, with no
  build step: collectstatic rewrites each `import … from "./x.js"` to the imported
  file's hashed name (Django's `support_js_module_import_aggregation`), so a module and
  the modules it imports always come from the same collect
  (tests/site/test_static_modules.py checks it).
- Only the project's own modules (MODULE_FOLDERS) are rewritten. Other apps' scripts
  are left as they come: the rewrite matches `import` anywhere in a file, and
  nested_admin's sortable.js says it where no module is imported.
"""

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage

MODULE_FOLDERS = ("playground/", "lessons/")
_, _MODULE_RULES = HashedFilesMixin._js_module_import_aggregation_patterns
MODULE_TEMPLATES = frozenset(template for _, template in _MODULE_RULES)


class ModuleImportsStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True

    def url_converter(self, name, hashed_files, template=None):
        if template in MODULE_TEMPLATES and not name.startswith(MODULE_FOLDERS):
            return lambda matched: matched["matched"]  # another app's script, untouched
        return super().url_converter(name, hashed_files, template)
