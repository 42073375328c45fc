// The program form's preview of the customer's card: it reads the form's fields as the
// merchant types and draws the card as the customer's profile shows it.
(function () {
  "use strict";
  var data = document.getElementById("card-preview-config");
  if (!data) {
    return;
  }
  var config = JSON.parse(data.textContent);
  var box = document.getElementById("card-preview");
  var form = box.closest("form");
  var nameEl = document.getElementById("card-preview-name");
  var textEl = document.getElementById("card-preview-text");
  var stampsEl = document.getElementById("card-preview-stamps");
  var earnEl = document.getElementById("card-preview-earn");

  box.style.setProperty("--preview-brand", config.brand);
  box.style.setProperty("--preview-ink", config.ink);

  function field(name) {
    var element = form.elements.namedItem(name);
    return element ? element.value.trim() : "";
  }

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (whole, key) {
      return key in values ? String(values[key]) : whole;
    });
  }

  function whole(value, fallback, max) {
    var number = parseInt(value, 10);
    if (!isFinite(number) || number < 1) {
      return fallback;
    }
    return Math.min(number, max);
  }

  function drawStamps() {
    var total = whole(field("stamps_per_card"), 1, 99);
    var count = Math.min(config.sampleStamps, total);
    textEl.textContent = fill(config.strings.stamps, {
      count: count,
      total: total,
      reward: field("reward_name") || config.strings.reward,
    });
    stampsEl.textContent = "";
    for (var i = 1; i <= total; i += 1) {
      var stamp = document.createElement("li");
      if (i <= count) {
        stamp.className = "full";
      }
      stampsEl.appendChild(stamp);
    }
    box.dataset.stamps = String(total);
  }

  function drawPoints() {
    var perUnit = whole(field("redeem_points_per_unit"), 0, 1000000000);
    var worth = perUnit ? config.samplePoints / perUnit : 0;
    textEl.textContent = fill(config.strings.points, {
      points: config.samplePoints,
      worth: worth.toFixed(config.decimals),
      currency: config.currency,
    });
    var earn = parseFloat(field("earn_points_per_unit").replace(",", "."));
    earnEl.textContent = fill(config.strings.earn, {
      points: isFinite(earn) && earn >= 0 ? String(earn) : "0",
      currency: config.currency,
    });
  }

  function draw() {
    nameEl.textContent = field("name") || config.strings.untitled;
    if (config.kind === "stamp") {
      drawStamps();
    } else {
      drawPoints();
    }
  }

  form.addEventListener("input", draw);
  form.addEventListener("change", draw);
  draw();
})();
