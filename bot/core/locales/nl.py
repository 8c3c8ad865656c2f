"""Dutch: every text the core shows people, keyed by its English msgid.

Style: informal "je", short, the way a Dutch meetup group talks in its chat. Command names
(/rsvp, /who, ...) stay as they are; their arguments are Dutch where the bot reads Dutch
(/rsvp ja|misschien|nee, /remind uit, /ics alles, dates like "donderdag 19:30").
Placeholders ({name}, ...) and emoji are kept exactly. tests/core/test_translations.py checks
that every msgid in bot/core has an entry here and that no entry is left over.

Words used throughout:
  chapter = afdeling · organiser = organisator · admin = beheerder · meetup = meetup
  poll = poll · date poll = datumpoll · waitlist = wachtlijst · seat = plek
  going = erbij / komt · private chat, DM = privéchat, DM · room (Matrix) = kamer
  "Write it like:" = "Schrijf het zo:" · "e.g." = "bijv."
"""

from __future__ import annotations

CATALOG: dict[str, str] = {
    # --- app.py: the front door ------------------------------------------------------------
    "I don't know /{name}. /help lists what I can do.":
        "/{name} ken ik niet. Met /help zie je wat ik kan.",
    "That message is too long for me.":
        "Dat bericht is te lang voor me.",
    "Something went wrong on my side; nothing was changed. Try again later.":
        "Er ging bij mij iets mis; er is niets veranderd. Probeer het later nog eens.",

    # --- context.py: who may do what, where ------------------------------------------------
    "Send this in your chapter's group chat.":
        "Stuur dit in de groepschat van je afdeling.",
    "This chat is not a chapter yet. An admin can set it up, e.g. "
    "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; en":
        "Deze chat is nog geen afdeling. Een beheerder kan dat regelen, bijv. met "
        "/setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl",
    "Only organisers can do that.":
        "Dat mogen alleen organisatoren.",
    "Send this to me in a private chat.":
        "Stuur me dit in een privéchat.",
    "{name}, I can't send you private messages yet. Tap {link} and press Start, so I can send "
    "you reminders.":
        "{name}, ik kan je nog geen privéberichten sturen. Tik op {link} en druk op Start, dan "
        "kan ik je herinneringen sturen.",
    "{name}, I can't send you private messages yet. Open a private chat with me and send "
    "/start, so I can send you reminders.":
        "{name}, ik kan je nog geen privéberichten sturen. Open een privéchat met mij en stuur "
        "/start, dan kan ik je herinneringen sturen.",

    # --- chapters.py: /help ----------------------------------------------------------------
    "/newmeetup Tweetup #1; thursday 19:30 | friday 20:00; Verkadefabriek; max 40":
        "/newmeetup Tweetup #1; donderdag 19:30 | vrijdag 20:00; Verkadefabriek; max 40",
    "/poll Which venue?; Verkadefabriek | Café de Unie":
        "/poll Welke locatie?; Verkadefabriek | Café de Unie",
    "/rsvp yes +1":
        "/rsvp ja +1",
    "/intro I make podcasts about cities":
        "/intro Ik maak podcasts over steden",
    "What I can do:":
        "Dit kan ik:",
    "(in a DM) lets me send you reminders":
        "(in een privéchat) zorgen dat ik je herinneringen kan sturen",
    "(admins) makes this group a chapter":
        "(beheerders) van deze groep een afdeling maken",
    "(organisers) one date sets the meetup, several open a date poll":
        "(organisatoren) één datum legt de meetup vast, meer datums starten een datumpoll",
    "(organisers) a plain poll":
        "(organisatoren) een gewone poll",
    "vote in the open poll":
        "stemmen in de open poll",
    "(organisers) closes the open poll now":
        "(organisatoren) de open poll nu sluiten",
    "upcoming meetups":
        "komende meetups",
    "answer for the next meetup: yes, maybe or no, with guests":
        "je antwoord voor de volgende meetup: ja, misschien of nee, eventueel met gasten",
    "who is coming, and the waitlist":
        "wie er komt en wie op de wachtlijst staat",
    "(in a DM) your line in /who":
        "(in een privéchat) jouw regel in /who",
    "tell me when the next meetup is announced":
        "een seintje krijgen zodra de volgende meetup wordt aangekondigd",
    "(in a DM) your reminder times, or /remind off":
        "(in een privéchat) je herinneringstijden, of /remind uit",
    "(in a DM) the language I use with you":
        "(in een privéchat) de taal waarin ik met je praat",
    "the next meetup as a calendar file; /ics all for every meetup":
        "de volgende meetup als agendabestand; /ics alles voor alle meetups",
    "(organisers) cancels the next meetup and tells everyone":
        "(organisatoren) de volgende meetup afzeggen en het iedereen laten weten",
    "/recurring first thursday 19:30":
        "/recurring eerste donderdag 19:30",
    "(organisers) the next meetup opens by itself; /recurring off stops it":
        "(organisatoren) de volgende meetup gaat vanzelf open; /recurring uit zet het stop",
    "(organisers) run this chapter in another group or room too":
        "(organisatoren) nog een groep of kamer aan deze afdeling koppelen",

    # --- chapters.py: /start, /setup, /link ------------------------------------------------
    "Hi! Send me /start in a private chat so I can remind you of meetups. "
    "/help lists what I can do.":
        "Hoi! Stuur me /start in een privéchat, dan kan ik je aan meetups herinneren. "
        "Met /help zie je wat ik kan.",
    "Hi {name}! I'm IRL, the meetup bot: I run polls for dates, keep track of who is coming "
    "and remind you before a meetup. You'll get your reminders here. Tell others who you are "
    "with /intro, and see /help for the rest.":
        "Hoi {name}! Ik ben IRL, de meetupbot: ik regel polls om een datum te prikken, houd bij "
        "wie er komt en herinner je op tijd aan een meetup. Je herinneringen krijg je hier. "
        "Vertel anderen wie je bent met /intro, en kijk bij /help voor de rest.",
    "Only the group's admins can set up a chapter.":
        "Alleen beheerders van deze groep kunnen er een afdeling van maken.",
    "Write it like: /setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl":
        "Schrijf het zo: /setup SMC Den Bosch; Den Bosch; Europe/Amsterdam; nl",
    "Keep the name and the city under {max} characters.":
        "Houd de naam en de stad onder de {max} tekens.",
    "I don't know the timezone “{tz}”. Write it like Europe/Amsterdam.":
        "De tijdzone “{tz}” ken ik niet. Schrijf het zo: Europe/Amsterdam.",
    "The language must be one of: {langs}.":
        "Kies een van deze talen: {langs}.",
    "This chat is now the chapter {name} ({city}, {tz}). Organisers can start with "
    "/newmeetup; everyone can send me /start in a private chat to get reminders.":
        "Deze chat is nu de afdeling {name} ({city}, {tz}). Organisatoren kunnen beginnen met "
        "/newmeetup; iedereen kan me /start sturen in een privéchat om herinneringen te krijgen.",
    "To run {name} in another group or room too (Telegram or Matrix), an admin there sends "
    "this within an hour:\n/link {code}":
        "Wil je {name} ook in een andere groep of kamer gebruiken (Telegram of Matrix)? "
        "Laat een beheerder daar binnen een uur dit sturen:\n/link {code}",
    "Only the group's admins can link it to a chapter.":
        "Alleen beheerders van deze groep kunnen hem aan een afdeling koppelen.",
    "This chat already belongs to the chapter {name}.":
        "Deze chat hoort al bij de afdeling {name}.",
    "That link code is unknown or has expired. Ask for a new one with /link in the "
    "chapter's chat.":
        "Die koppelcode ken ik niet of hij is verlopen. Vraag een nieuwe aan met /link in de "
        "chat van de afdeling.",
    "This chat is now part of {name}: polls, announcements and the head count are shared "
    "with its other chats.":
        "Deze chat hoort nu bij {name}: polls, aankondigingen en de aanmeldingen worden "
        "gedeeld met de andere chats van de afdeling.",

    # --- chapters.py: /intro, /remind, /language, /next ------------------------------------
    "(none yet)":
        "(nog niet ingevuld)",
    "Your intro: {line}\nChange it with /intro <one line about you>.":
        "Je intro: {line}\nPas hem aan met /intro <één regel over jezelf>.",
    "Keep your intro under {max} characters.":
        "Houd je intro onder de {max} tekens.",
    "Thanks! Others see this next to your name in /who: {line}":
        "Dank je! Dit zien anderen naast je naam in /who: {line}",
    "Your reminders: {times} before a meetup. Change them with /remind 1d 2h, or /remind off.":
        "Je herinneringen: {times} voor een meetup. Pas ze aan met /remind 1d 2h, of zet ze "
        "uit met /remind uit.",
    "Your reminders are off. /remind 1d 2h turns them back on.":
        "Je herinneringen staan uit. Met /remind 1d 2h zet je ze weer aan.",
    "No more reminders. /remind 1d 2h turns them back on.":
        "Je krijgt geen herinneringen meer. Met /remind 1d 2h zet je ze weer aan.",
    "I'll remind you {times} before each meetup you're going to.":
        "Ik herinner je aan elke meetup waar je heen gaat: {times} van tevoren.",
    "Write it like: /language nl or /language en":
        "Schrijf het zo: /language nl of /language en",
    # Said in the language just chosen: each catalog names its own language here.
    "I'll speak English with you from now on.":
        "Vanaf nu praat ik Nederlands met je.",
    "Send /next in the group chat of the chapter you mean.":
        "Stuur /next in de groepschat van de afdeling die je bedoelt.",
    "{name}, you'll get a DM when {chapter} announces its next meetup.":
        "{name}, je krijgt een DM zodra {chapter} de volgende meetup aankondigt.",

    # --- dates.py: reading <when> and reminder times ---------------------------------------
    "A date is missing. Write it like: thursday 19:30 or 2027-03-12 19:00":
        "Er ontbreekt een datum. Schrijf het zo: donderdag 19:30 of 12 maart 19:00",
    "I can't read “{text}” as a date and time. Write it like: "
    "thursday 19:30 or 2027-03-12 19:00":
        "Ik kan “{text}” niet als datum en tijd lezen. Schrijf het zo: "
        "donderdag 19:30 of 12 maart 19:00",
    "“{text}” has no time of day; I read it as {shown}. Add a time, like: {text} 19:30":
        "Bij “{text}” staat geen tijd; ik lees het als {shown}. Zet er een tijd bij, zoals: "
        "{text} 19:30",
    "“{text}” is ambiguous (day/month or month/day?); I read it as {shown}. "
    "Write the month as a word or use 2027-03-12 19:00.":
        "“{text}” kan twee kanten op (dag/maand of maand/dag?); ik lees het als {shown}. "
        "Schrijf de maand voluit of gebruik 2027-03-12 19:00.",
    "“{text}” doesn't exist: the clocks go forward that night. I read it as {shown}; "
    "write that time if you mean it.":
        "“{text}” bestaat niet: die nacht gaat de klok vooruit. Ik lees het als {shown}; "
        "schrijf die tijd als je die bedoelt.",
    "“{text}” is in the past: I read it as {shown}.":
        "“{text}” ligt in het verleden: ik lees het als {shown}.",
    "“{text}” is too far ahead: I read it as {shown}.":
        "“{text}” ligt te ver vooruit: ik lees het als {shown}.",
    "Write reminder times like: 1d 2h (or off)":
        "Schrijf herinneringstijden zo: 1d 2h (of uit)",
    "I can't read “{text}” as a reminder time. Write it like: 1d 2h 30m":
        "Ik kan “{text}” niet als herinneringstijd lezen. Schrijf het zo: 1d 2h 30m",
    "A reminder time must lie between 1 minute and 30 days before the meetup.":
        "Een herinnering moet tussen 1 minuut en 30 dagen voor de meetup vallen.",
    "At most {max} reminder times, please.":
        "Je kunt hooguit {max} herinneringstijden kiezen.",

    # --- meetups.py: announcing ------------------------------------------------------------
    "✅ Going":
        "✅ Ik kom",
    "🤔 Maybe":
        "🤔 Misschien",
    "❌ Can't":
        "❌ Kan niet",
    "{n}/{max} going":
        "{n}/{max} erbij",
    "{n} going":
        "{n} erbij",
    "{n} maybe":
        "{n} misschien",
    "{n} on the waitlist":
        "{n} op de wachtlijst",
    "📅 {what}":
        "📅 {what}",
    "Coming? Answer with ✅ 🤔 ❌ below, or send /rsvp yes (with guests: /rsvp yes +1).":
        "Kom je? Antwoord met ✅ 🤔 ❌ hieronder, of stuur /rsvp ja (met gasten: /rsvp ja +1).",
    "❌ Cancelled":
        "❌ Gaat niet door",
    "{chapter} has announced its next meetup: {what}":
        "{chapter} heeft de volgende meetup aangekondigd: {what}",

    # --- meetups.py: /newmeetup ------------------------------------------------------------
    "Write it like: /newmeetup Tweetup #1; thursday 19:30 | friday 20:00; Verkadefabriek; "
    "max 40":
        "Schrijf het zo: /newmeetup Tweetup #1; donderdag 19:30 | vrijdag 20:00; "
        "Verkadefabriek; max 40",
    "The meetup needs a title, e.g. /newmeetup Tweetup #1; thursday 19:30":
        "De meetup heeft een titel nodig, bijv. /newmeetup Tweetup #1; donderdag 19:30",
    "That title is {n} characters long; keep it under {max}.":
        "Die titel is {n} tekens lang; houd hem onder de {max}.",
    "After max, write a number of seats from 1 to {max}.":
        "Achter max hoort een aantal plekken van 1 tot en met {max}.",
    "The venue is {n} characters long; keep it under {max}.":
        "De locatie is {n} tekens lang; houd die onder de {max}.",
    "I don't know what “{text}” means here. Write it like: "
    "/newmeetup Tweetup #1; thursday 19:30; Verkadefabriek; max 40":
        "Ik weet niet wat “{text}” hier betekent. Schrijf het zo: "
        "/newmeetup Tweetup #1; donderdag 19:30; Verkadefabriek; max 40",
    "At most {max} dates in one poll.":
        "Hooguit {max} datums in één poll.",
    "The same date is in the list twice.":
        "Dezelfde datum staat er twee keer in.",
    "A poll is still open. Close it first with /closepoll.":
        "Er loopt nog een poll. Sluit die eerst met /closepoll.",
    "New meetup!":
        "Nieuwe meetup!",

    # --- meetups.py: /rsvp and buttons -----------------------------------------------------
    "Write it like: /rsvp yes, /rsvp maybe, /rsvp no, or /rsvp yes +2":
        "Schrijf het zo: /rsvp ja, /rsvp misschien, /rsvp nee of /rsvp ja +2",
    "Guests are written as +1 … +{max}, e.g. /rsvp yes +2":
        "Gasten schrijf je als +1 … +{max}, bijv. /rsvp ja +2",
    "The date of {title} is still being voted on; RSVP opens when the poll closes.":
        "Over de datum van {title} wordt nog gestemd; aanmelden kan zodra de poll sluit.",
    "No meetup is planned yet. Send /next to hear when one is.":
        "Er staat nog geen meetup gepland. Stuur /next, dan hoor je het zodra er een is.",
    "{name} took back their answer for {title}.":
        "{name} heeft het antwoord voor {title} ingetrokken.",
    "{title} has {max} seats in all; a group of {n} doesn't fit.":
        "{title} heeft in totaal {max} plekken; een groep van {n} past er niet in.",
    "{name} is going to {title} (+{g}).":
        "{name} komt naar {title} (+{g}).",
    "{name} is going to {title}.":
        "{name} komt naar {title}.",
    "{n}/{max} seats taken.":
        "{n} van de {max} plekken bezet.",
    "There isn't room for a bigger group: +{free} is the most you can bring now, so yours "
    "stays the same size.":
        "Er is niet genoeg plek voor een grotere groep: je kunt nu hooguit +{free} meenemen, "
        "dus je groep blijft even groot.",
    "{title} is full: {name} is on the waitlist, position {pos}. You'll get a DM when a "
    "seat opens.":
        "{title} zit vol: {name} staat op de wachtlijst, als nummer {pos}. Je krijgt een DM "
        "zodra er een plek vrijkomt.",
    "{name} might come to {title}.":
        "{name} komt misschien naar {title}.",
    "{name} can't come to {title}.":
        "{name} kan niet naar {title} komen.",
    "Good news: a seat opened up. You're going to {what}. Can't make it after all? "
    "Send /rsvp no in the group.":
        "Goed nieuws: er is een plek vrijgekomen. Je gaat naar {what}. Kun je toch niet? "
        "Stuur /rsvp nee in de groep.",
    "That button isn't valid.":
        "Die knop is niet geldig.",
    "{title} is no longer open for answers.":
        "Voor {title} kun je je niet meer aanmelden.",

    # --- meetups.py: /who, /meetups, /cancel, /ics -----------------------------------------
    "Going ({n}/{max}):":
        "Erbij ({n}/{max}):",
    "Going ({n}):":
        "Erbij ({n}):",
    "nobody yet":
        "nog niemand",
    "Maybe:":
        "Misschien:",
    "Waitlist:":
        "Wachtlijst:",
    "{title} — date still being voted on":
        "{title} — er wordt nog over de datum gestemd",
    "No meetups planned. Send /next to hear when one is.":
        "Er staan geen meetups gepland. Stuur /next, dan hoor je het zodra er een is.",
    "Upcoming meetups:":
        "Komende meetups:",
    "There is no upcoming meetup to cancel.":
        "Er is geen komende meetup om af te zeggen.",
    "❌ {title} is cancelled.":
        "❌ {title} gaat niet door.",
    "Sorry: {title} ({chapter}) is cancelled.":
        "Helaas: {title} ({chapter}) gaat niet door.",
    "No meetups with a date yet.":
        "Er zijn nog geen meetups met een datum.",
    "Add it to your calendar.":
        "Zet hem in je agenda.",

    # --- polls.py --------------------------------------------------------------------------
    "{title}: which dates can you make?":
        "{title}: wanneer kun je?",
    "New meetup: {title}. Vote for every date you can make; the poll closes {closes}.":
        "Nieuwe meetup: {title}. Stem op elke datum waarop je kunt; de poll sluit op {closes}.",
    "Write it like: /poll Which venue?; Verkadefabriek | Café de Unie":
        "Schrijf het zo: /poll Welke locatie?; Verkadefabriek | Café de Unie",
    "The question is {n} characters long; keep it under {max}.":
        "De vraag is {n} tekens lang; houd die onder de {max}.",
    "A poll needs at least two options, separated by |.":
        "Een poll heeft minstens twee opties nodig, gescheiden door |.",
    "At most {max} options in one poll.":
        "Hooguit {max} opties in één poll.",
    "Keep each option under {max} characters.":
        "Houd elke optie onder de {max} tekens.",
    "The same option is in the list twice.":
        "Dezelfde optie staat er twee keer in.",
    "New poll; it closes {closes}.":
        "Nieuwe poll! Hij sluit op {closes}.",
    "This poll has options 1 to {n}.":
        "Deze poll heeft opties 1 tot en met {n}.",
    "Pick one option in this poll.":
        "Kies één optie in deze poll.",
    "There is no open poll right now.":
        "Er loopt nu geen poll.",
    "Write the numbers of the options, e.g. /vote 1 3":
        "Schrijf de nummers van de opties, bijv. /vote 1 3",
    "{name} voted for {options}.":
        "{name} heeft gestemd op {options}.",
    "Poll closed: {question}\n{summary}":
        "Poll gesloten: {question}\n{summary}",
    "Most votes: {winner}":
        "Meeste stemmen: {winner}",
    "Tie: {options}":
        "Gelijkspel: {options}",
    "No votes.":
        "Geen stemmen.",
    "The poll is closed: {title} is on {when}.\n{summary}":
        "De poll is gesloten: {title} is op {when}.\n{summary}",
    "Everyone who voted for this date counts as maybe until they answer.":
        "Op deze datum gestemd? Dan sta je op misschien tot je zelf antwoordt.",

    # --- reminders.py ----------------------------------------------------------------------
    "Reminder: {title} starts in {left}.":
        "Herinnering: {title} begint over {left}.",
    "When: {when}":
        "Wanneer: {when}",
    "Where: {venue}":
        "Waar: {venue}",
    "Chapter: {name}":
        "Afdeling: {name}",
    "Can't make it? Send /rsvp no in the group, so someone on the waitlist gets your seat.":
        "Kun je toch niet? Stuur /rsvp nee in de groep, dan krijgt iemand van de wachtlijst "
        "je plek.",
    "Tomorrow: {title}, {when}{venue}. Coming? /rsvp yes — who's coming? /who":
        "Morgen: {title}, {when}{venue}. Kom je? /rsvp ja — wie komen er? /who",

    # --- attendance.py, and the follow-up in reminders.py ---------------------------------
    "at the meetup: I'm here":
        "op de meetup: ik ben er",
    "(organisers) meetups held, sign-ups, attendance, growth":
        "(organisatoren) gehouden meetups, aanmeldingen, opkomst, groei",
    "Check-in opens an hour before a meetup and closes four hours after its start.":
        "Inchecken kan vanaf een uur voor een meetup tot vier uur na de start.",
    "{name}, you're already checked in.":
        "{name}, je bent al ingecheckt.",
    "Welcome, {name}! {n} checked in at {title} so far.":
        "Welkom, {name}! Tot nu toe {n} ingecheckt bij {title}.",
    "Stats for {name}":
        "Cijfers van {name}",
    "Meetups held: {n}":
        "Gehouden meetups: {n}",
    "Members: {n} ({new} new in the last 30 days)":
        "Leden: {n} ({new} nieuw in de afgelopen 30 dagen)",
    "Waiting for the next announcement: {n}":
        "Wachten op de volgende aankondiging: {n}",
    "Attendance: {came} checked in of {yes} who said yes ({pct}%)":
        "Opkomst: {came} ingecheckt van de {yes} die ja zeiden ({pct}%)",
    "• {title}, {when}: {yes} said yes, {came} came, {noshow} no-shows":
        "• {title}, {when}: {yes} zeiden ja, {came} kwamen, {noshow} niet gekomen",
    "Thanks for coming to {title}! {n} checked in. Want to hear when the next one is "
    "announced? Send /next.":
        "Bedankt voor je komst naar {title}! {n} ingecheckt. Wil je horen wanneer de volgende "
        "wordt aangekondigd? Stuur /next.",

    # --- recurring.py: /recurring ----------------------------------------------------------
    "I can't read “{text}” as a rule. Write it like: /recurring first thursday 19:30, "
    "/recurring every friday 20:00 or /recurring every 2 weeks thursday 19:30":
        "Ik kan “{text}” niet als regel lezen. Schrijf het zo: /recurring eerste donderdag "
        "19:30, /recurring elke vrijdag 20:00 of /recurring elke 2 weken donderdag 19:30",
    "“{text}” isn't a time I can read. Write it like 19:30, 19.30 or 7:30pm.":
        "“{text}” kan ik niet als tijd lezen. Schrijf het zo: 19:30, 19.30 of 19u30.",
    "“{text}” has no time of day. Add one, like: /recurring {text} 19:30":
        "Bij “{text}” staat geen tijd. Zet er een bij, zoals: /recurring {text} 19:30",
    "the first {weekday} of the month at {time}":
        "de eerste {weekday} van de maand om {time}",
    "the second {weekday} of the month at {time}":
        "de tweede {weekday} van de maand om {time}",
    "the third {weekday} of the month at {time}":
        "de derde {weekday} van de maand om {time}",
    "the fourth {weekday} of the month at {time}":
        "de vierde {weekday} van de maand om {time}",
    "the last {weekday} of the month at {time}":
        "de laatste {weekday} van de maand om {time}",
    "every {n} weeks on {weekday} at {time}":
        "om de {n} weken op {weekday} om {time}",
    "every {weekday} at {time}":
        "elke {weekday} om {time}",
    "This chapter has no recurring meetup. Set one like: /recurring first thursday 19:30; "
    "Tweetup; Verkadefabriek; max 40":
        "Deze afdeling heeft geen terugkerende meetup. Stel er een in, bijv.: /recurring "
        "eerste donderdag 19:30; Tweetup; Verkadefabriek; max 40",
    "There is no recurring meetup to stop.":
        "Er is geen terugkerende meetup om te stoppen.",
    "Recurring meetups are off. Meetups already planned stay; /cancel cancels the next one.":
        "Terugkerende meetups staan uit. Meetups die al gepland zijn blijven staan; met /cancel "
        "zeg je de volgende af.",
    "I don't know what “{text}” means here. Write it like: /recurring first thursday 19:30; "
    "Tweetup; Verkadefabriek; max 40":
        "Ik weet niet wat “{text}” hier betekent. Schrijf het zo: /recurring eerste donderdag "
        "19:30; Tweetup; Verkadefabriek; max 40",
    "Recurring meetup set: {title}, {rule}.":
        "Terugkerende meetup ingesteld: {title}, {rule}.",
    "Recurring meetup: {title}, {rule}.":
        "Terugkerende meetup: {title}, {rule}.",
    "Seats: {n}":
        "Plekken: {n}",
    "Next dates:":
        "Volgende datums:",
    "The first one is open now; stop the rule with /recurring off.":
        "De eerste staat nu open; met /recurring uit zet je de regel stop.",
    "The next one opens when {title} ({when}) is over.":
        "De volgende gaat open als {title} ({when}) voorbij is.",
    "The next one opens when {title} is over.":
        "De volgende gaat open als {title} voorbij is.",
    "Only organisers can close the poll; it stays open until {closes}.":
        "Alleen organisatoren kunnen de poll sluiten; hij blijft open tot {closes}.",

    # --- commands.py: the command table (Telegram's menu, /help) --------------------------
    'What I can do, with examples':
        'Wat ik kan, met voorbeelden',
    'Start me in a private chat to get reminders':
        'Start mij privé voor herinneringen',
    'Make this group a chapter (admins)':
        'Maak van deze groep een afdeling (beheerders)',
    'Plan a meetup or a date poll':
        'Plan een meetup of een datumpoll',
    'Ask the chapter a question':
        'Stel de afdeling een vraag',
    'Close the open poll now':
        'Sluit de open poll nu',
    'Upcoming meetups':
        'Komende meetups',
    'Say if you come: yes, maybe or no':
        'Zeg of je komt: ja, misschien of nee',
    'Who is coming':
        'Wie er komt',
    'Your one-line introduction':
        'Jouw introductie in één regel',
    'Tell me when the next one is announced':
        'Laat me weten als de volgende er is',
    'Your reminder times':
        'Jouw herinneringstijden',
    'The meetup as a calendar file':
        'De meetup als agendabestand',
    'Cancel the meetup (organisers)':
        'Zeg de meetup af (organisatoren)',
    'Repeat meetups by a rule (organisers)':
        'Herhaal meetups (organisatoren)',
    'I am here':
        'Ik ben er',
    'Chapter statistics (organisers)':
        'Cijfers van de afdeling (organisatoren)',
    'Language: nl or en':
        'Taal: nl of en',
    'Run this chapter in another group too (organisers)':
        'Deze afdeling ook in een andere groep (organisatoren)',
    'every command with an example':
        'alle opdrachten met een voorbeeld',
}
