"""The config file's JSON schema, generated from the pydantic models, for editor completion.

`lineage-sharing schema --output config/schema.json` writes it; a test keeps the committed file
in step with the models. Point an editor at it with a first line in the YAML file:

    # yaml-language-server: $schema=./schema.json

The models validate a little more than JSON schema can say (cross-field checks); the schema
adds what the models accept before validation: `region:` as shorthand for `regions:`.
"""

from __future__ import annotations

import json
from typing import Any

from config.model import ACCOUNT_ID_PATTERN, WHY, SharingConfig, known_regions

# Draft 7: what yaml-language-server (VS Code's YAML extension) supports.
SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
REGION_REF = "#/$defs/Region"


def config_schema() -> dict[str, Any]:
    schema = SharingConfig.model_json_schema(mode="validation")
    definitions = schema["$defs"]
    definitions["Region"] = {
        "type": "string",
        "enum": sorted(known_regions()),
        "description": WHY["regions"],
    }
    account = definitions["Account"]
    properties = account["properties"]
    properties["id"].update(pattern=ACCOUNT_ID_PATTERN.pattern)
    properties["regions"]["items"] = {"$ref": REGION_REF}
    properties["region"] = {
        "$ref": REGION_REF,
        "description": "The account's one region (shorthand for regions: [<region>]).",
    }
    account["required"] = [name for name in account["required"] if name != "regions"]
    account["oneOf"] = [{"required": ["region"]}, {"required": ["regions"]}]
    schema["title"] = "SageMaker lineage sharing config"
    return {"$schema": SCHEMA_DIALECT, **schema}


def schema_text() -> str:
    return json.dumps(config_schema(), indent=2) + "\n"
