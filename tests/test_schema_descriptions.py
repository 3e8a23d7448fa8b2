"""Every type, field, argument, input field and enum value of the schema has a description:
GraphiQL's documentation pane shows them. No database: the schema is only walked."""

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    specified_scalar_types,
)

from schema.schema import schema


def _described(description: str | None) -> bool:
    return bool(description and description.strip())


def missing_descriptions(graphql_schema: GraphQLSchema) -> list[str]:
    """`Type`, `Type.field`, `Type.field(argument)`, `Input.field` and `Enum.VALUE` without
    a description, builtin scalars and introspection types aside."""
    missing: list[str] = []
    for name, named in sorted(graphql_schema.type_map.items()):
        if name.startswith("__") or name in specified_scalar_types:
            continue
        missing += _missing_in(name, named)
    return missing


def _missing_in(name: str, named: GraphQLNamedType) -> list[str]:
    missing = [] if _described(named.description) else [name]
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        for field_name, field in named.fields.items():
            if not _described(field.description):
                missing.append(f"{name}.{field_name}")
            missing += [
                f"{name}.{field_name}({argument_name})"
                for argument_name, argument in field.args.items()
                if not _described(argument.description)
            ]
    elif isinstance(named, GraphQLInputObjectType):
        missing += [
            f"{name}.{field_name}"
            for field_name, field in named.fields.items()
            if not _described(field.description)
        ]
    elif isinstance(named, GraphQLEnumType):
        missing += [
            f"{name}.{value_name}"
            for value_name, value in named.values.items()
            if not _described(value.description)
        ]
    return missing


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    missing = missing_descriptions(schema._schema)
    assert not missing, f"{len(missing)} without a description:\n" + "\n".join(missing)
