// Forms whose fields depend on a choice (a segment rule's kind, a campaign action's kind, a
// campaign's trigger): only the fields that choice uses are shown. Without this script every
// field shows, and the server still says which one is missing. A field with an error stays.
(function () {
  "use strict";
  var data = document.getElementById("kind-fields-config");
  if (!data) {
    return;
  }
  // [{"select": name suffix of the choosing select, "fields": {choice: [field names]},
  //   "managed": [every field name that depends on the choice]}]
  var groups = JSON.parse(data.textContent);

  function rowOf(scope, prefix, name) {
    var input = scope.querySelector('[name="' + prefix + name + '"]');
    return input ? input.closest(".form-row, .fieldBox") : null;
  }

  function apply(select, group) {
    var prefix = select.name.slice(0, select.name.length - group.select.length);
    var scope = select.closest(".inline-related") || select.form;
    var shown = group.fields[select.value] || [];
    group.managed.forEach(function (name) {
      var row = rowOf(scope, prefix, name);
      if (!row) {
        return;
      }
      var visible = shown.indexOf(name) !== -1 || row.querySelector(".errorlist") !== null;
      row.style.display = visible ? "" : "none";
    });
  }

  function bind(root) {
    groups.forEach(function (group) {
      root.querySelectorAll("select").forEach(function (select) {
        var name = select.name || "";
        var matches = name === group.select || name.slice(-(group.select.length + 1)) === "-" + group.select;
        if (!matches || name.indexOf("__prefix__") !== -1 || select.dataset.kindFields) {
          return;
        }
        select.dataset.kindFields = "1";
        select.addEventListener("change", function () {
          apply(select, group);
        });
        apply(select, group);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bind(document);
  });
  // Django's admin announces an inline form added with "Add another".
  document.addEventListener("formset:added", function (event) {
    bind(event.target);
  });
})();
