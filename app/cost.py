"""Query cost analysis (OWASP's "amount limiting"): how many objects an operation may return,
reckoned from the document, the schema and the variables before any resolver runs.

The formula, pinned by tests/test_query_cost.py:

- A field that returns an object costs 1 plus the cost of what it selects; scalars and enums
  (`id`, `text`, `__typename`…) cost 0.
- A list field costs its size times that. A connection (a field taking `first` and `last`) is
  one object whose `nodes` and `edges` are lists of its page size: `first`, else `last`, else
  DEFAULT_PAGE_SIZE (20), at most MAX_PAGE_SIZE (100). `searchVectorStore`'s size is its
  `maxNumResults`; any other list of objects (`tools`, `content`, `annotations`, `toolCalls`,
  `attachments`…) counts as LIST_SIZE objects.
- Nesting multiplies through: `runs(first: 100) { nodes { thread { runs(first: 100) … } } }`.
- Fragments and inline fragments count like the fields they hold, merged by response key as
  execution merges them; on a union or interface the costliest branch counts (an object is of
  one type only).
- A subscription costs one event's selection: the limit bounds each event, not the stream.
- Introspection (`__schema`, `__type`) costs 1: the answer comes from the schema in memory,
  its size is the schema's (GraphiQL loads it whole), graphql-core's MaxIntrospectionDepthRule
  already refuses its cycles (`types { fields { type { fields … } } } }`), and production mode
  turns it off.

Costing takes microseconds (tens for a big document): a repeated fragment is costed once.
`Costs` keeps the answers: clients send the same few documents again and again, with ids in
their variables that do not change what they cost.
"""

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLInt,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    type_from_ast,
    value_from_ast,
)
from graphql.pyutils import Undefined

from models.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from services.vector_stores import MAX_SEARCH_RESULTS

# A bound for lists that are not paginated: a message's content parts, a text's annotations,
# a run's tools and tool calls. Most hold 1 to 3; 5 leaves room without letting them dominate.
LIST_SIZE = 5
CONNECTION_LISTS = frozenset({"nodes", "edges"})
INTROSPECTION = frozenset({"__schema", "__type"})
INTROSPECTION_COST = 1


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int | None:
    """The cost of the operation to run, or None when there is none to cost (execution will
    say why: no such operation)."""
    return _costed(schema, document, operation_name, variables)[0]


def _costed(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> tuple[int | None, tuple[str, ...]]:
    """The cost, and the variables it was reckoned from (by name)."""
    operation = _operation(document, operation_name)
    if operation is None:
        return None, ()
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None, ()
    fragments = {
        node.name.value: node
        for node in document.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    coster = _Coster(schema, fragments, _variables(schema, operation, variables or {}))
    cost = coster.object_cost(root, (operation.selection_set,), None)
    return cost, tuple(sorted(coster.read))


_ABSENT = object()  # a variable not sent: its default, the same for the same document
# Documents longer than this are costed each time: a few hundred kept ones stay a few MB.
MAX_KEPT_QUERY = 20_000


class Costs:
    """`operation_cost`, kept by document text, operation, and the values of the variables
    that cost was reckoned from (page sizes, `@include` conditions), most recent first. One
    schema's: an app's extensions share one."""

    def __init__(self, size: int = 256) -> None:
        self._reads: LRUCache[tuple[str, str | None], tuple[str, ...]] = LRUCache(size)
        self._costs: LRUCache[tuple[Any, ...], int | None] = LRUCache(size)

    def cost(
        self,
        schema: GraphQLSchema,
        query: str | None,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int | None:
        given = variables or {}
        if query is None or len(query) > MAX_KEPT_QUERY:  # no text to know it again by
            return operation_cost(schema, document, operation_name, given)
        operation = (query, operation_name)
        names = self._reads.get(operation)
        if names is not None:
            try:
                return self._costs[_key(operation, names, given)]
            except KeyError:
                pass
            except TypeError:  # a value that cannot be a key: costed each time
                return operation_cost(schema, document, operation_name, given)
        cost, names = _costed(schema, document, operation_name, given)
        self._reads[operation] = names
        with contextlib.suppress(TypeError):  # a value that cannot be a key: not kept
            self._costs[_key(operation, names, given)] = cost
        return cost


def _key(
    operation: tuple[str, str | None], names: tuple[str, ...], given: Mapping[str, Any]
) -> tuple[Any, ...]:
    """A kept cost's key: the operation, and the values of the variables it was reckoned from."""
    return (operation, names, tuple(given.get(name, _ABSENT) for name in names))


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [
        node for node in document.definitions if isinstance(node, OperationDefinitionNode)
    ]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((node for node in operations if node.name and node.name.value == name), None)


def _variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, given: Mapping[str, Any]
) -> dict[str, Any]:
    """The variables as sent, with the operation's defaults for those left out."""
    values = dict(given)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            type_ = type_from_ast(schema, definition.type)
            if type_ is not None:
                values[name] = value_from_ast(definition.default_value, type_)  # type: ignore[arg-type]
    return values


class _Coster:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        self.read: set[str] = set()  # the variables the cost depends on
        # Per (type, selections, page size): repeated fragments are costed once.
        self.memo: dict[tuple[str, tuple[int, ...], int | None], int] = {}

    def object_cost(
        self, type_: Any, selections: tuple[SelectionSetNode, ...], page: int | None
    ) -> int:
        """What one object of `type_` costs beyond itself; the costliest type when abstract."""
        key = (type_.name, tuple(id(selection) for selection in selections), page)
        if key not in self.memo:
            types = self.schema.get_possible_types(type_) if is_abstract_type(type_) else [type_]
            self.memo[key] = max(
                (self._fields_cost(concrete, selections, page) for concrete in types), default=0
            )
        return self.memo[key]

    def _fields_cost(
        self, type_: GraphQLObjectType, selections: tuple[SelectionSetNode, ...], page: int | None
    ) -> int:
        fields: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in selections:
            self._collect(type_, selection_set, fields, visited)
        return sum(self._field_cost(type_, nodes, page) for nodes in fields.values())

    def _field_cost(
        self, parent: GraphQLObjectType, nodes: list[FieldNode], page: int | None
    ) -> int:
        name = nodes[0].name.value
        if name in INTROSPECTION:
            return INTROSPECTION_COST
        definition = parent.fields.get(name)
        if definition is None:  # __typename, or a field validation already refused
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        arguments = nodes[0].arguments or ()
        size = 1
        if is_list_type(get_nullable_type(definition.type)):
            if page is not None and name in CONNECTION_LISTS:
                size = page
            elif "maxNumResults" in definition.args:
                size = _clamped(self._int(arguments, "maxNumResults"), 10, MAX_SEARCH_RESULTS)
            else:
                size = LIST_SIZE
        inner = None
        if "first" in definition.args and "last" in definition.args:
            given = self._int(arguments, "first")
            given = given if given is not None else self._int(arguments, "last")
            inner = _clamped(given, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        selections = _unique(node.selection_set for node in nodes if node.selection_set)
        return size * (1 + self.object_cost(named, selections, inner))

    def _collect(
        self,
        type_: GraphQLObjectType,
        selection_set: SelectionSetNode,
        fields: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        """The fields an object of `type_` gets, by response key (execution's CollectFields)."""
        for selection in selection_set.selections:
            if not self._included(selection.directives or ()):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, type_):
                    self._collect(type_, selection.selection_set, fields, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition.name.value, type_):
                    self._collect(type_, fragment.selection_set, fields, visited)

    def _applies(self, condition: str, type_: GraphQLObjectType) -> bool:
        target = self.schema.get_type(condition)
        if target is None:
            return False
        if is_abstract_type(target):
            return self.schema.is_sub_type(target, type_)
        return target is type_

    def _included(self, directives: Iterable[Any]) -> bool:
        for directive in directives:
            name = directive.name.value
            if name in ("skip", "include"):
                value = self._value(directive.arguments or (), "if", GraphQLBoolean)
                # Unknown (a bad variable): counted, as if the field were asked for.
                if isinstance(value, bool) and value == (name == "skip"):
                    return False
        return True

    def _int(self, arguments: Iterable[Any], name: str) -> int | None:
        value = self._value(arguments, name, GraphQLInt)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _value(self, arguments: Iterable[Any], name: str, type_: Any) -> Any:
        for argument in arguments:
            if argument.name.value == name:
                if isinstance(argument.value, VariableNode):
                    self.read.add(argument.value.name.value)
                value = value_from_ast(argument.value, type_, self.variables)
                return None if value is Undefined else value
        return None


def _clamped(value: int | None, default: int, most: int) -> int:
    """A page size as the resolver takes it: out-of-range sizes are refused there anyway."""
    return default if value is None else max(0, min(value, most))


def _unique(selections: Iterator[SelectionSetNode]) -> tuple[SelectionSetNode, ...]:
    """Each selection set once: a fragment spread twice selects its fields once."""
    return tuple({id(selection): selection for selection in selections}.values())
