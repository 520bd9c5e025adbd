// Reads an iCalendar file on stdin as Thunderbird's parser does and prints
// each event's start as that reader understands it: its zone, its wall
// clock and the instant, computed from the file's own VTIMEZONE rules
// (ical.js has no tz database of its own).
import ICAL from "ical.js";

let text = "";
for await (const chunk of process.stdin) text += chunk;
const cal = new ICAL.Component(ICAL.parse(text));
for (const tz of cal.getAllSubcomponents("vtimezone")) ICAL.TimezoneService.register(tz);
const events = cal.getAllSubcomponents("vevent").map((c) => {
  const ev = new ICAL.Event(c);
  const start = ev.startDate;
  return {
    summary: ev.summary,
    zone: start.zone ? start.zone.tzid : "",
    wall: start.toString(),
    unix: start.toUnixTime(),
  };
});
console.log(JSON.stringify(events));
