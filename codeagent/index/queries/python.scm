; Definitions: @definition.KIND on the node, @name on its name.
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function
(module (expression_statement (assignment left: (identifier) @name) @definition.constant))

; References: calls (plain and attribute), base classes, decorators.
(call function: [(identifier) @reference (attribute attribute: (identifier) @reference)])
(class_definition
  superclasses: (argument_list [(identifier) @reference (attribute attribute: (identifier) @reference)]))
(decorator (identifier) @reference)
