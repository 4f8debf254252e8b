// New Logic form: keeps the starting source in step with the name and description typed,
// as long as the source is still the untouched template.
(function () {
  'use strict';

  function template(name, description) {
    var n = name || 'my_logic';
    var d = (description || '').replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    return 'from hero_tracing import logic\n\n\n' +
      '@logic(\n' +
      '    name="' + n + '",\n' +
      '    description="' + d + '",\n' +
      '    inputs={\n' +
      '        "text": {"type": "string", "description": "What to work on.", "required": True},\n' +
      '    },\n' +
      '    outputs={\n' +
      '        "result": {"type": "string", "description": "What came out of it."},\n' +
      '    },\n' +
      ')\n' +
      'def ' + n + '(text: str) -> dict:\n' +
      '    logic.log(f"got {len(text)} characters")\n' +
      '    return {"result": text.strip()}\n';
  }

  function init() {
    var form = document.getElementById('new-logic-form');
    if (!form) return;
    var name = document.getElementById('nl-name');
    var description = document.getElementById('nl-description');
    var source = document.getElementById('nl-source');
    var last = template(name.value.trim(), description.value.trim());
    var untouched = source.value === last || source.value === template('', '');
    function sync() {
      if (!untouched) return;
      last = template(name.value.trim(), description.value.trim());
      source.value = last;
    }
    name.addEventListener('input', sync);
    description.addEventListener('input', sync);
    source.addEventListener('input', function () { untouched = source.value === last; });
    if (!name.value) name.focus();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
