//! Functions of Node's own modules decode with their names, scripts, positions and source:
//! their scripts' sources are external strings whose characters lie in the executable's
//! `.rodata`, which the process image fills in where the core left it out.

mod support;

use coroner_heap::{Class, FunctionDetail, InspectOptions, LineColumn, ValueKind};
use support::all;

#[test]
fn builtin_module_functions_have_their_source() {
    let options = InspectOptions {
        function_source: true,
        depth: 1,
        limit: 64,
        ..InspectOptions::default()
    };
    for o in all() {
        let model = &o.model;
        let label = o.label();
        let functions: Vec<u64> = model
            .par_map_pages(|_, walk| {
                walk.filter(|obj| model.class_of(obj.instance_type) == Class::Function)
                    .map(|obj| obj.addr)
                    .collect::<Vec<_>>()
            })
            .into_iter()
            .flatten()
            .collect();
        let mut with_source = 0;
        for &f in functions.iter().step_by(7) {
            let v = model.inspect(f, &options).expect("functions decode");
            // Expanded (depth 1), a function with code is a closure.
            let ValueKind::Function {
                detail:
                    Some(FunctionDetail::Closure {
                        script,
                        position,
                        source,
                        ..
                    }),
                ..
            } = &v.kind
            else {
                panic!("{label}: not an expanded function: {v:?}");
            };
            let Some(script) = script.as_deref() else {
                continue;
            };
            if !script.starts_with("node:") {
                continue;
            }
            assert!(v.error.is_none(), "{label}: {script}: {:?}", v.error);
            let source = source
                .as_deref()
                .unwrap_or_else(|| panic!("{label}: no source"));
            if source.is_empty() {
                // Synthesized default constructors of classes have an empty range.
                continue;
            }
            // The line and column (from the script's line ends) are where the source text
            // stands in the script (found by counting newlines here).
            let sfi = model.function_shared(f).expect("a SharedFunctionInfo");
            let info = model.shared_info(sfi).expect("shared info");
            let (start, end) = info.positions.expect("positions");
            let from = info.token_position.unwrap_or(start);
            let script_addr = info.script.expect("script");
            let (text, _) = model
                .script_text(script_addr, 0, end, None)
                .expect("script text");
            let before: Vec<char> = text.chars().take(from as usize).collect();
            let line = before.iter().filter(|&&c| c == '\n').count() as u64 + 1;
            let column = before.iter().rev().take_while(|&&c| c != '\n').count() as u64 + 1;
            assert_eq!(
                *position,
                Some(LineColumn { line, column }),
                "{label}: {script}"
            );
            let rest: String = text.chars().skip(from as usize).collect();
            assert!(rest.starts_with(source), "{label}: {script}:{line}");
            with_source += 1;
        }
        assert!(
            with_source >= 20,
            "{label}: only {with_source} builtin functions with source"
        );
    }
}
