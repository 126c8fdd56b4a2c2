"""German texts of the admin page, keyed by the English original (see :mod:`bridge.admin.i18n`)."""

from __future__ import annotations

__all__ = ["DE"]

DE: dict[str, str] = {
    # Layout and login
    "Admin": "Verwaltung",
    "Main menu": "Hauptmenü",
    "Synchronisation": "Synchronisation",
    "Conflicts": "Konflikte",
    "Ledger": "Protokoll",
    "ICS feeds": "ICS-Feeds",
    "Log out": "Abmelden",
    "Sign in": "Anmelden",
    "Sign in to the admin page": "Bei der Verwaltung anmelden",
    "User name": "Benutzername",
    "Password": "Passwort",
    "Only administrators can sign in here. Staff use their calendar app.":
        "Hier können sich nur Administratoren anmelden. Mitarbeitende nutzen ihre Kalender-App.",
    "Wrong user name or password.": "Benutzername oder Passwort ist falsch.",
    "This account may not use the admin page. Ask an administrator.":
        "Dieses Konto darf die Verwaltung nicht nutzen. Bitte wenden Sie sich an einen "
        "Administrator.",
    "Too many failed attempts. Wait a few minutes.":
        "Zu viele Fehlversuche. Bitte warten Sie einige Minuten.",
    "Request refused: the form expired or came from another site. Reload the page and try "
    "again.": "Anfrage abgelehnt: Das Formular ist abgelaufen oder kam von einer anderen Seite. "
              "Bitte laden Sie die Seite neu und versuchen Sie es erneut.",
    "{n} s ago": "vor {n} s",
    "{n} min ago": "vor {n} min",
    "{n} h ago": "vor {n} h",
    "{n} days ago": "vor {n} Tagen",
    # ICS feeds
    "A feed is a secret, read-only calendar link for other programs (a website, a booking "
    "portal, a colleague's calendar). Anyone with the link can read it, so choose the privacy "
    "level carefully and revoke links you no longer need.":
        "Ein Feed ist ein geheimer, schreibgeschützter Kalender-Link für andere Programme (eine "
        "Website, ein Buchungsportal, den Kalender einer Kollegin). Wer den Link kennt, kann ihn "
        "lesen: Wählen Sie die Datenschutzstufe sorgfältig und widerrufen Sie Links, die Sie "
        "nicht mehr brauchen.",
    "busy": "belegt",
    "limited": "eingeschränkt",
    "full": "vollständig",
    "Only times: every appointment shows as \"Busy\".":
        "Nur Zeiten: Jeder Termin erscheint als „Belegt“.",
    "Times and the booked service, no customer data.":
        "Zeiten und gebuchte Leistung, keine Kundendaten.",
    "Everything, including customer names and contact data.":
        "Alles, auch Namen und Kontaktdaten der Kunden.",
    "Label": "Bezeichnung",
    "Privacy": "Datenschutz",
    "Privacy level": "Datenschutzstufe",
    "Created": "Erstellt",
    "Last used": "Zuletzt abgerufen",
    "State": "Zustand",
    "active": "aktiv",
    "revoked": "widerrufen",
    "New link": "Neuer Link",
    "Make a new link? The old link stops working at once.":
        "Neuen Link erzeugen? Der alte Link funktioniert sofort nicht mehr.",
    "Revoke": "Widerrufen",
    "Revoke this feed? Its link stops working at once.":
        "Diesen Feed widerrufen? Sein Link funktioniert sofort nicht mehr.",
    "No feeds for this calendar yet.": "Für diesen Kalender gibt es noch keine Feeds.",
    "e.g. website": "z. B. Website",
    "Create feed": "Feed erstellen",
    "There are no calendars yet. Create one with: termin-bridge calendar add OWNER/SLUG":
        "Es gibt noch keine Kalender. Legen Sie einen an mit: termin-bridge calendar add "
        "BESITZER/NAME",
    "Choose a privacy level.": "Bitte wählen Sie eine Datenschutzstufe.",
    "Feed link": "Feed-Link",
    "Feed link for {name}": "Feed-Link für {name}",
    "Copy the link now: for your security it is shown only once. If you lose it, make a new "
    "link.": "Kopieren Sie den Link jetzt: Zu Ihrer Sicherheit wird er nur einmal angezeigt. "
             "Geht er verloren, erzeugen Sie einen neuen Link.",
    "Subscription URL": "Abonnement-URL",
    "Copy": "Kopieren",
    "Open in calendar app (webcal)": "In der Kalender-App öffnen (webcal)",
    "Back to ICS feeds": "Zurück zu den ICS-Feeds",
    "Feed revoked: its URL no longer works.": "Feed widerrufen: Seine URL funktioniert nicht mehr.",

    # Synchronisation: overview, provider, connect flow
    "Connect a calendar to Google Calendar, Outlook / Microsoft 365, Apple iCloud, another "
    "CalDAV server or an Exchange Server: appointments made here appear there, and events made "
    "there become appointments here.":
        "Verbinden Sie einen Kalender mit Google Kalender, Outlook / Microsoft 365, Apple iCloud, "
        "einem anderen CalDAV-Server oder einem Exchange Server: Hier angelegte Termine "
        "erscheinen dort, und dort angelegte Termine erscheinen hier.",
    "not connected": "nicht verbunden",
    "reconnect needed": "neu verbinden nötig",
    "paused": "angehalten",
    "set-up not finished": "Einrichtung nicht abgeschlossen",
    "importing": "Import läuft",
    "finished": "abgeschlossen",
    "failed": "fehlgeschlagen",
    "error": "Fehler",
    "connected": "verbunden",
    "Open": "Öffnen",
    "Set up synchronisation": "Synchronisation einrichten",
    "Steps": "Schritte",
    "Provider": "Anbieter",
    "Sign-in": "Anmeldung",
    "Choose calendar": "Kalender wählen",
    "Confirm": "Bestätigen",
    "Preview": "Vorschau",
    "Import": "Import",
    "Calendar provider": "Kalenderanbieter",
    "Google Calendar": "Google Kalender",
    "Two-way: appointments appear in Google, Google events become appointments.":
        "In beide Richtungen: Termine erscheinen in Google, Google-Termine erscheinen hier.",
    "Connect Google Calendar": "Google Kalender verbinden",
    "You will be sent to Google to choose the account and allow access. Nothing is "
    "synchronised before you have chosen a calendar and confirmed.":
        "Sie werden zu Google weitergeleitet, um das Konto zu wählen und den Zugriff zu "
        "erlauben. Synchronisiert wird erst, wenn Sie einen Kalender gewählt und bestätigt "
        "haben.",
    "Problems connecting?": "Probleme beim Verbinden?",
    "If Google says \"admin_policy_enforced\" or that your organisation restricts access: a "
    "Google Workspace administrator must mark this app as trusted in the Admin console under "
    "Security → Access and data control → API controls. After that change it can take up to "
    "24 hours until the connection works.":
        "Meldet Google „admin_policy_enforced“ oder dass Ihre Organisation den Zugriff "
        "beschränkt: Ein Google-Workspace-Administrator muss diese App in der Admin-Konsole "
        "unter Sicherheit → Zugriffs- und Datenkontrolle → API-Steuerung als vertrauenswürdig "
        "einstufen. Nach dieser Änderung kann es bis zu 24 Stunden dauern, bis die Verbindung "
        "funktioniert.",
    "Tick the calendar box on Google's consent page: without calendar access the connection "
    "cannot work.":
        "Setzen Sie auf Googles Zustimmungsseite den Haken für die Kalender: Ohne "
        "Kalenderzugriff kann die Verbindung nicht funktionieren.",
    "Cannot connect: {reason}": "Verbinden nicht möglich: {reason}",
    "Which Google calendar should be synchronised with \"{name}\"?":
        "Welcher Google-Kalender soll mit „{name}“ synchronisiert werden?",
    "Signed in at Google as {account}. Only calendars this account may change are listed.":
        "Bei Google angemeldet als {account}. Es werden nur Kalender angezeigt, die dieses Konto "
        "ändern darf.",
    "main calendar": "Hauptkalender",
    "Next": "Weiter",
    "Cancel set-up": "Einrichtung abbrechen",
    "Choose one of the listed calendars.": "Bitte wählen Sie einen der angezeigten Kalender.",
    "Please confirm": "Bitte bestätigen",
    "Calendar here": "Kalender hier",
    "Google account": "Google-Konto",
    "Google calendar": "Google-Kalender",
    "Direction": "Richtung",
    "both ways": "in beide Richtungen",
    "After saving you will see a preview of the first import before anything is changed.":
        "Nach dem Speichern sehen Sie eine Vorschau des ersten Imports, bevor etwas geändert "
        "wird.",
    "Save changes": "Änderungen speichern",
    "Back": "Zurück",
    "Before the first synchronisation": "Vor der ersten Synchronisation",
    "The preview failed: {reason}": "Die Vorschau ist fehlgeschlagen: {reason}",
    "Try again": "Erneut versuchen",
    "This is a dry run: nothing has been changed yet.":
        "Dies ist ein Probelauf: Es wurde noch nichts geändert.",
    "events in Google": "Termine in Google",
    "new appointments here": "neue Termine hier",
    "appointments here already": "Termine bereits hier",
    "already the same on both sides (nothing to write)":
        "auf beiden Seiten schon gleich (nichts zu schreiben)",
    "What will be written": "Was geschrieben wird",
    "updated here": "hier aktualisiert",
    "updated in Google (they differ; this calendar wins)":
        "in Google aktualisiert (weichen ab; dieser Kalender gewinnt)",
    "missing in Google": "fehlen in Google",
    "Also send the {n} appointments Google does not have yet":
        "Auch die {n} Termine an Google senden, die dort noch fehlen",
    "Without this, only appointments created or changed from now on appear in Google.":
        "Ohne diese Option erscheinen nur Termine in Google, die ab jetzt angelegt oder "
        "geändert werden.",
    "Customers are not notified about imported events.":
        "Kunden werden über importierte Termine nicht benachrichtigt.",
    "Start import": "Import starten",
    "The set-up was cancelled. Nothing was synchronised.":
        "Die Einrichtung wurde abgebrochen. Es wurde nichts synchronisiert.",
    # Import progress
    "Importing from Google Calendar": "Import aus Google Kalender",
    "You can leave or reload this page: the import continues on the server.":
        "Sie können diese Seite verlassen oder neu laden: Der Import läuft auf dem Server "
        "weiter.",
    "Import progress": "Importfortschritt",
    "events read": "Termine gelesen",
    "created": "angelegt",
    "updated": "aktualisiert",
    "errors": "Fehler",
    "events per second": "Termine pro Sekunde",
    "time left (min:s)": "verbleibend (min:s)",
    "Phase": "Phase",
    "Import finished.": "Import abgeschlossen.",
    "The import is retried automatically.": "Der Import wird automatisch erneut versucht.",
    "Show status": "Status anzeigen",
    "Reload to update": "Zum Aktualisieren neu laden",
    # Status
    "{provider} access has to be renewed": "Der Zugriff auf {provider} muss erneuert werden",
    "{provider} no longer accepts the stored access (it was revoked, expired, or an "
    "organisation policy now blocks the app). Changes made here are kept and sent as soon as "
    "you reconnect.":
        "{provider} akzeptiert den gespeicherten Zugriff nicht mehr (er wurde widerrufen, ist "
        "abgelaufen oder eine Richtlinie der Organisation sperrt die App). Änderungen hier "
        "bleiben erhalten und werden gesendet, sobald Sie neu verbinden.",
    "Stops the synchronisation and deletes the stored access. Microsoft offers no way for an "
    "app to revoke it: remove the app afterwards under My Apps (work or school account) or "
    "Microsoft account privacy (personal account). Appointments stay here and in {provider}.":
        "Beendet die Synchronisation und löscht den gespeicherten Zugriff. Microsoft bietet "
        "Apps keinen Weg, ihn zu widerrufen: Entfernen Sie die App danach unter „Meine Apps“ "
        "(Geschäfts- oder Schulkonto) bzw. im Datenschutzbereich des Microsoft-Kontos "
        "(persönliches Konto). Die Termine bleiben hier und in {provider}.",
    "Reconnect Google Calendar": "Google Kalender neu verbinden",
    "Synchronisation paused by the safety check": "Synchronisation durch die Sicherheitsprüfung "
                                                  "angehalten",
    "Google reported changes that would remove many appointments here. Nothing was deleted. "
    "Check the Google calendar, then confirm to apply the changes, or cancel to keep the "
    "appointments here and put them back into Google.":
        "Google hat Änderungen gemeldet, die hier viele Termine löschen würden. Es wurde nichts "
        "gelöscht. Prüfen Sie den Google-Kalender und bestätigen Sie dann, um die Änderungen zu "
        "übernehmen, oder brechen Sie ab, um die Termine hier zu behalten und in Google "
        "wiederherzustellen.",
    "Apply the changes from Google, including the deletions?":
        "Die Änderungen aus Google einschließlich der Löschungen übernehmen?",
    "Confirm and apply": "Bestätigen und übernehmen",
    "Cancel, keep appointments": "Abbrechen, Termine behalten",
    "{n} conflicts need a look.": "{n} Konflikte brauchen Ihre Aufmerksamkeit.",
    "Open the conflict inbox": "Konflikte öffnen",
    "Connection": "Verbindung",
    "Last pull from Google": "Zuletzt von Google geholt",
    "Last push to Google": "Zuletzt an Google gesendet",
    "Lag": "Verzögerung",
    "Waiting to be sent": "Wartet auf Versand",
    "oldest": "ältester",
    "Failed permanently": "Endgültig fehlgeschlagen",
    "Push notifications": "Push-Benachrichtigungen",
    "off (polling only; needs an https public URL)":
        "aus (nur regelmäßige Abfrage; braucht eine öffentliche https-URL)",
    "until {when}": "bis {when}",
    "expiring": "läuft ab",
    "not open": "nicht geöffnet",
    "Connected since": "Verbunden seit",
    "Sync now": "Jetzt synchronisieren",
    "Settings": "Einstellungen",
    "Check Google for changes every … minutes": "Google alle … Minuten auf Änderungen prüfen",
    "Empty: the default of {n} minutes. With push notifications, changes arrive within seconds "
    "anyway.":
        "Leer: Standardwert von {n} Minuten. Mit Push-Benachrichtigungen kommen Änderungen "
        "ohnehin innerhalb von Sekunden an.",
    "Save": "Speichern",
    "First import": "Erster Import",
    "{seen} events read, {created} created, {updated} updated, {errors} errors.":
        "{seen} Termine gelesen, {created} angelegt, {updated} aktualisiert, {errors} Fehler.",
    "Disconnect": "Trennen",
    "Stops the synchronisation and revokes this app's access at Google. Appointments stay here "
    "and in Google.":
        "Beendet die Synchronisation und widerruft den Zugriff dieser App bei Google. Die "
        "Termine bleiben hier und in Google erhalten.",
    "Disconnect Google Calendar from this calendar?":
        "Google Kalender von diesem Kalender trennen?",
    "Recent problems": "Letzte Probleme",
    "Last error": "Letzter Fehler",
    "Changes Google refused": "Von Google abgelehnte Änderungen",
    "Appointment": "Termin",
    "Operation": "Vorgang",
    "Attempts": "Versuche",
    "Error": "Fehler",
    "Try these again": "Erneut versuchen",
    "When": "Wann",
    "Action": "Aktion",
    "No problems recorded.": "Keine Probleme verzeichnet.",
    "Full ledger of this calendar": "Vollständiges Protokoll dieses Kalenders",
    "Sync failed: {reason}": "Synchronisation fehlgeschlagen: {reason}",
    "Nothing was pulled: the connection is paused, needs a reconnect or is busy. See below.":
        "Es wurde nichts geholt: Die Verbindung ist angehalten, muss neu verbunden werden oder "
        "ist beschäftigt. Siehe unten.",
    "Synchronised: {created} new, {updated} changed, {deleted} deleted from Google.":
        "Synchronisiert: {created} neu, {updated} geändert, {deleted} gelöscht aus Google.",
    "The interval must be between 1 minute and 24 hours.":
        "Das Intervall muss zwischen 1 Minute und 24 Stunden liegen.",
    "Sync interval saved.": "Synchronisationsintervall gespeichert.",
    "Confirmed: the changes from Google were applied and the sync runs again.":
        "Bestätigt: Die Änderungen aus Google wurden übernommen, die Synchronisation läuft "
        "wieder.",
    "Cancelled: nothing is deleted here. The appointments are being put back into Google in "
    "the background; the progress is shown below.":
        "Abgebrochen: Hier wird nichts gelöscht. Die Termine werden im Hintergrund in Google "
        "wiederhergestellt; der Fortschritt steht unten.",
    "The appointments are already being put back into Google.":
        "Die Termine werden bereits in Google wiederhergestellt.",
    "Nothing to cancel: the synchronisation is not paused.":
        "Nichts abzubrechen: Die Synchronisation ist nicht angehalten.",
    "Putting the kept appointments back into Google":
        "Die behaltenen Termine werden in Google wiederhergestellt",
    "Reading the changes from Google …": "Die Änderungen aus Google werden gelesen …",
    "{done} of {total} appointments restored in Google.":
        "{done} von {total} Terminen in Google wiederhergestellt.",
    "Restoring the appointments in Google failed: {reason}":
        "Die Wiederherstellung der Termine in Google ist fehlgeschlagen: {reason}",
    "Deletions from Google on hold": "Zurückgehaltene Löschungen aus Google",
    "Restore in Google": "Wiederherstellung in Google",
    "{done} of {total} restored, {failed} failed":
        "{done} von {total} wiederhergestellt, {failed} fehlgeschlagen",
    "{n} changes queued again.": "{n} Änderungen erneut eingereiht.",
    "Disconnect failed: {reason}": "Trennen fehlgeschlagen: {reason}",
    "Google Calendar was disconnected and access revoked. The appointments stay here.":
        "Google Kalender wurde getrennt und der Zugriff widerrufen. Die Termine bleiben hier.",
    "Google is connected again. Queued changes are being sent now.":
        "Google ist wieder verbunden. Wartende Änderungen werden jetzt gesendet.",
    # OAuth error pages
    "Google Calendar was not connected": "Google Kalender wurde nicht verbunden",
    "Access was not allowed": "Der Zugriff wurde nicht erlaubt",
    "On Google's page the access was cancelled or denied, so nothing was connected. To "
    "synchronise, start again and choose \"Allow\".":
        "Auf der Google-Seite wurde der Zugriff abgebrochen oder abgelehnt, daher wurde nichts "
        "verbunden. Um zu synchronisieren, beginnen Sie erneut und wählen Sie „Zulassen“.",
    "Your organisation blocks this app": "Ihre Organisation sperrt diese App",
    "The Google account belongs to a Google Workspace whose administrator allows only trusted "
    "apps to use Google Calendar.":
        "Das Google-Konto gehört zu einem Google Workspace, dessen Administrator nur "
        "vertrauenswürdigen Apps den Zugriff auf Google Kalender erlaubt.",
    "Ask your Workspace administrator to open the Google Admin console, go to Security → "
    "Access and data control → API controls, find this app (its OAuth client ID is below) "
    "under \"Manage third-party app access\" and set it to \"Trusted\".":
        "Bitten Sie Ihren Workspace-Administrator, die Google-Admin-Konsole zu öffnen, unter "
        "Sicherheit → Zugriffs- und Datenkontrolle → API-Steuerung bei „Zugriff von "
        "Drittanbieter-Apps verwalten“ diese App (ihre OAuth-Client-ID steht unten) zu suchen "
        "und auf „Vertrauenswürdig“ zu setzen.",
    "After the change it can take up to 24 hours until Google lets the connection through. "
    "Then connect again.":
        "Nach der Änderung kann es bis zu 24 Stunden dauern, bis Google die Verbindung zulässt. "
        "Verbinden Sie dann erneut.",
    "Calendar access was not granted": "Kalenderzugriff wurde nicht gewährt",
    "Google's consent page lets you untick single permissions. The box for the calendars was "
    "not ticked, so the app cannot read or write events. Start again and leave every box "
    "ticked.":
        "Auf Googles Zustimmungsseite lassen sich einzelne Berechtigungen abwählen. Der Haken "
        "für die Kalender war nicht gesetzt, daher kann die App keine Termine lesen oder "
        "schreiben. Beginnen Sie erneut und lassen Sie alle Haken gesetzt.",
    "No calendar you may change": "Kein Kalender, den Sie ändern dürfen",
    "The account {account} has no Google calendar it may change (only read-only calendars were "
    "found). Use an account that owns a calendar, or ask the calendar's owner to share it with "
    "\"Make changes to events\".":
        "Das Konto {account} hat keinen Google-Kalender, den es ändern darf (es wurden nur "
        "schreibgeschützte Kalender gefunden). Verwenden Sie ein Konto, dem ein Kalender gehört, "
        "oder bitten Sie den Besitzer, ihn mit „Änderungen an Terminen vornehmen“ zu teilen.",
    "Google did not grant lasting access": "Google hat keinen dauerhaften Zugriff gewährt",
    "Remove this app under \"Third-party apps with account access\" in your Google account, "
    "then connect again.":
        "Entfernen Sie diese App in Ihrem Google-Konto unter „Drittanbieter-Apps mit "
        "Kontozugriff“ und verbinden Sie dann erneut.",
    "This sign-in link is not valid": "Dieser Anmelde-Link ist ungültig",
    "The answer from Google does not belong to a connection started in this browser session, "
    "has expired (after 10 minutes) or was already used. Nothing was changed. Start again from "
    "the Synchronisation page.":
        "Die Antwort von Google gehört zu keiner in dieser Browsersitzung begonnenen Verbindung, "
        "ist abgelaufen (nach 10 Minuten) oder wurde bereits verwendet. Es wurde nichts "
        "geändert. Beginnen Sie erneut auf der Seite Synchronisation.",
    "Google refused the sign-in.": "Google hat die Anmeldung abgelehnt.",
    "OAuth client ID": "OAuth-Client-ID",
    "Back to Synchronisation": "Zurück zur Synchronisation",
    # Conflicts and ledger
    "Conflict inbox": "Konflikte",
    "An appointment was changed here and in the connected calendar at the same time. The more "
    "recent change "
    "was kept automatically; the other version is shown next to it. Accept the decision, or "
    "bring the other version back.":
        "Ein Termin wurde hier und im verbundenen Kalender gleichzeitig geändert. Die neuere "
        "Änderung wurde "
        "automatisch übernommen; die andere Fassung steht daneben. Bestätigen Sie die "
        "Entscheidung oder holen Sie die andere Fassung zurück.",
    "History": "Verlauf",
    "Kept version": "Übernommene Fassung",
    "Other version": "Andere Fassung",
    "here": "hier",
    "deleted": "gelöscht",
    "Title": "Titel",
    "Start": "Beginn",
    "End": "Ende",
    "Location": "Ort",
    "Description": "Beschreibung",
    "Keep the kept version": "Übernommene Fassung behalten",
    "Replace the appointment with the other version?":
        "Den Termin durch die andere Fassung ersetzen?",
    "Use the other version": "Andere Fassung verwenden",
    "No open conflicts.": "Keine offenen Konflikte.",
    "Conflict resolved.": "Konflikt gelöst.",
    "Every change the synchronisation made, newest first: why did this appointment move?":
        "Jede Änderung der Synchronisation, neueste zuerst: Warum hat sich dieser Termin "
        "verschoben?",
    "Title, UID or the provider's event id": "Titel, UID oder Termin-ID beim Anbieter",
    "Search": "Suchen",
    "Show all": "Alle anzeigen",
    "History of appointment {uid}": "Verlauf des Termins {uid}",
    "Calendar": "Kalender",
    "Trigger": "Auslöser",
    "Fields": "Felder",
    "Outcome": "Ergebnis",
    "Only the newest {n} entries were searched.": "Nur die neuesten {n} Einträge wurden "
                                                  "durchsucht.",
    "Nothing found.": "Nichts gefunden.",
    # Provider-neutral status texts
    'Reconnect {provider}':
        '{provider} neu verbinden',
    'Putting the kept appointments back into {provider}':
        'Die behaltenen Termine werden in {provider} wiederhergestellt',
    'Reading the changes from {provider} …':
        'Die Änderungen aus {provider} werden gelesen …',
    '{done} of {total} appointments restored in {provider}.':
        '{done} von {total} Terminen in {provider} wiederhergestellt.',
    'Restoring the appointments in {provider} failed: {reason}':
        'Die Wiederherstellung der Termine in {provider} ist fehlgeschlagen: {reason}',
    '{provider} reported changes that would remove many appointments here. Nothing was deleted. '
    'Check the {provider} calendar, then confirm to apply the changes, or cancel to keep the '
    'appointments here and put them back into {provider}.':
        '{provider} hat Änderungen gemeldet, die hier viele Termine löschen würden. Es wurde '
        'nichts gelöscht. Prüfen Sie den {provider}-Kalender und bestätigen Sie dann, um die '
        'Änderungen zu übernehmen, oder brechen Sie ab, um die Termine hier zu behalten und in '
        '{provider} wiederherzustellen.',
    'Apply the changes from {provider}, including the deletions?':
        'Die Änderungen aus {provider} einschließlich der Löschungen übernehmen?',
    '{provider} account':
        '{provider}-Konto',
    '{provider} calendar':
        '{provider}-Kalender',
    'Last pull from {provider}':
        'Zuletzt von {provider} geholt',
    'Last push to {provider}':
        'Zuletzt an {provider} gesendet',
    'Deletions from {provider} on hold':
        'Zurückgehaltene Löschungen aus {provider}',
    'Restore in {provider}':
        'Wiederherstellung in {provider}',
    'Check {provider} for changes every … minutes':
        '{provider} alle … Minuten auf Änderungen prüfen',
    "Stops the synchronisation and revokes this app's access at {provider}. Appointments stay here"
    ' and in {provider}.':
        'Beendet die Synchronisation und widerruft den Zugriff dieser App bei {provider}. Die '
        'Termine bleiben hier und in {provider} erhalten.',
    'Disconnect {provider} from this calendar?':
        '{provider} von diesem Kalender trennen?',
    'Changes {provider} refused':
        'Von {provider} abgelehnte Änderungen',
    'Which {provider} calendar should be synchronised with "{name}"?':
        'Welcher {provider}-Kalender soll mit „{name}“ synchronisiert werden?',
    'Signed in at {provider} as {account}. Only calendars this account may change are listed.':
        'Bei {provider} angemeldet als {account}. Es werden nur Kalender angezeigt, die dieses '
        'Konto ändern darf.',
    'events in {provider}':
        'Termine in {provider}',
    'updated in {provider} (they differ; this calendar wins)':
        'in {provider} aktualisiert (weichen ab; dieser Kalender gewinnt)',
    'missing in {provider}':
        'fehlen in {provider}',
    'Also send the {n} appointments {provider} does not have yet':
        'Auch die {n} Termine an {provider} senden, die dort noch fehlen',
    'Without this, only appointments created or changed from now on appear in {provider}.':
        'Ohne diese Option erscheinen nur Termine in {provider}, die ab jetzt angelegt oder '
        'geändert werden.',
    'Importing from {provider}':
        'Import aus {provider}',
    'Apple iCloud / other CalDAV server / Exchange Server':
        'Apple iCloud / anderer CalDAV-Server / Exchange Server',
    'Coming later':
        'Folgt später',
    'Coming later: these providers are planned for a future version.':
        'Folgt später: Diese Anbieter sind für eine kommende Version geplant.',
    'Connect Outlook / Microsoft 365':
        'Outlook / Microsoft 365 verbinden',
    'Disconnect it on the Synchronisation page first, then connect it again with the provider you '
    'want.':
        'Trennen Sie ihn zuerst auf der Seite Synchronisation und verbinden Sie ihn dann mit dem '
        'gewünschten Anbieter neu.',
    'If Microsoft shows "Need admin approval" (AADSTS90094 or AADSTS90093): your organisation lets'
    ' only apps an administrator approved read calendars. A Microsoft Entra administrator of the '
    'tenant must grant this app the permissions Calendars.ReadWrite, User.Read and offline_access '
    'for all users, for example by opening the admin consent link below while signed in as '
    'administrator. Then connect again.':
        'Wenn Microsoft „Genehmigung durch Administrator erforderlich“ (Need admin approval, '
        'AADSTS90094 oder AADSTS90093) anzeigt: Ihre Organisation erlaubt nur von einem '
        'Administrator genehmigten Apps, Kalender zu lesen. Ein Microsoft-Entra-Administrator des '
        'Mandanten muss dieser App die Berechtigungen Calendars.ReadWrite, User.Read und '
        'offline_access für alle Benutzer erteilen, zum Beispiel indem er den Link zur '
        'Administratorzustimmung unten als Administrator angemeldet öffnet. Verbinden Sie danach '
        'erneut.',
    'If you chose "Cancel" or declined on Microsoft\'s page, nothing was connected: start again and'
    ' accept.':
        'Wenn Sie auf der Seite von Microsoft „Abbrechen“ gewählt oder abgelehnt haben, wurde '
        'nichts verbunden: Beginnen Sie erneut und stimmen Sie zu.',
    'Microsoft refused the sign-in.':
        'Microsoft hat die Anmeldung abgelehnt.',
    'Not available in this installation yet.':
        'In dieser Installation noch nicht verfügbar.',
    'Not set up yet: the operator must enter the OAuth client of a Google Cloud project in '
    '[google] client_id and client_secret of the configuration.':
        'Noch nicht eingerichtet: Der Betreiber muss den OAuth-Client eines Google-Cloud-Projekts '
        'in [google] client_id und client_secret der Konfiguration eintragen.',
    'Not set up yet: the operator must register an app in Microsoft Entra ID (redirect URI {uri}) '
    'and enter its client ID and secret in [microsoft] client_id and client_secret of the '
    'configuration.':
        'Noch nicht eingerichtet: Der Betreiber muss in Microsoft Entra ID eine App registrieren '
        '(Umleitungs-URI {uri}) und ihre Client-ID und ihr Geheimnis in [microsoft] client_id und '
        'client_secret der Konfiguration eintragen.',
    "On Microsoft's page the permissions were declined or the sign-in was cancelled, so nothing "
    'was connected. To synchronise, start again and choose "Accept".':
        'Auf der Seite von Microsoft wurden die Berechtigungen abgelehnt oder die Anmeldung '
        'abgebrochen, daher wurde nichts verbunden. Beginnen Sie zum Synchronisieren erneut und '
        'wählen Sie „Akzeptieren“.',
    'Outlook / Microsoft 365':
        'Outlook / Microsoft 365',
    'Outlook / Microsoft 365 was disconnected: the stored access and the change subscription were '
    'deleted. Microsoft offers apps no way to withdraw their own access, so remove this app '
    'yourself: work or school accounts at {work}, personal accounts at {personal}. The '
    'appointments stay here.':
        'Outlook / Microsoft 365 wurde getrennt: Der gespeicherte Zugriff und das '
        'Änderungsabonnement wurden gelöscht. Microsoft bietet Apps keine Möglichkeit, ihren '
        'eigenen Zugriff zu widerrufen. Entfernen Sie diese App deshalb selbst: Geschäfts- oder '
        'Schulkonten unter {work}, private Konten unter {personal}. Die Termine bleiben hier '
        'erhalten.',
    'Outlook / Microsoft 365 was not connected':
        'Outlook / Microsoft 365 wurde nicht verbunden',
    'Problems connecting to Google?':
        'Probleme beim Verbinden mit Google?',
    'Problems connecting to Microsoft?':
        'Probleme beim Verbinden mit Microsoft?',
    'This calendar is connected to another provider':
        'Dieser Kalender ist mit einem anderen Anbieter verbunden',
    'This calendar provider is not available.':
        'Dieser Kalenderanbieter ist nicht verfügbar.',
    'To withdraw the access later: work or school accounts at {work}, personal accounts at '
    '{personal}.':
        'Um den Zugriff später zu widerrufen: Geschäfts- oder Schulkonten unter {work}, private '
        'Konten unter {personal}.',
    'Two-way with an Outlook.com or Microsoft 365 calendar (work, school or personal account).':
        'In beide Richtungen mit einem Outlook.com- oder Microsoft-365-Kalender (Geschäfts-, '
        'Schul- oder privates Konto).',
    'You will be sent to the provider to choose the account and allow access. Nothing is '
    'synchronised before you have chosen a calendar and confirmed.':
        'Sie werden zum Anbieter weitergeleitet, um das Konto zu wählen und den Zugriff zu '
        'erlauben. Synchronisiert wird erst, wenn Sie einen Kalender gewählt und bestätigt haben.',
    'Your organisation has to approve this app':
        'Ihre Organisation muss diese App genehmigen',
    '{provider} is connected again. Queued changes are being sent now.':
        '{provider} ist wieder verbunden. Wartende Änderungen werden jetzt gesendet.',
    # Login providers: iCloud, other CalDAV servers, Exchange (views_login)
    'App-specific password': 'App-spezifisches Passwort',
    'Apple ID (e-mail address)': 'Apple-ID (E-Mail-Adresse)',
    'Apple iCloud': 'Apple iCloud',
    'Apple iCloud was disconnected and the stored Apple ID and app-specific password were '
    'deleted. Revoke the app-specific password yourself at {url} under Sign-In and Security → '
    'App-Specific Passwords. The appointments stay here.':
        'Apple iCloud wurde getrennt, die gespeicherte Apple-ID und das app-spezifische Passwort '
        'wurden gelöscht. Widerrufen Sie das app-spezifische Passwort selbst unter {url} bei '
        '„Anmeldung und Sicherheit“ → „App-spezifische Passwörter“. Die Termine bleiben hier '
        'erhalten.',
    'Authentication': 'Anmeldeverfahren',
    'Calendar home': 'Kalender-Stammverzeichnis',
    'Calendars found': 'Gefundene Kalender',
    'Can be synchronised': 'Synchronisierbar',
    'Change tracking': 'Änderungserkennung',
    'Changed the password, or created a new app-specific password? Enter it again; the calendar '
    'and the synchronisation state are kept.':
        'Passwort geändert oder ein neues app-spezifisches Passwort erstellt? Geben Sie es neu '
        'ein; der Kalender und der Synchronisationsstand bleiben erhalten.',
    'Check the EWS URL (usually https://mail.example.com/EWS/Exchange.asmx), or enter the '
    "mailbox's e-mail address to use autodiscover.":
        'Prüfen Sie die EWS-URL (meist https://mail.example.com/EWS/Exchange.asmx) oder geben '
        'Sie die E-Mail-Adresse des Postfachs ein, um Autodiscover zu nutzen.',
    'Choose "Generate an app-specific password" (or "+"), enter a name such as "termin-bridge" '
    'and confirm with your Apple ID password.':
        'Wählen Sie „App-spezifisches Passwort generieren“ (oder „+“), geben Sie einen Namen wie '
        '„termin-bridge“ ein und bestätigen Sie mit dem Passwort Ihrer Apple-ID.',
    'Choose "Sign-In and Security", then "App-Specific Passwords".':
        'Wählen Sie „Anmeldung und Sicherheit“ und dann „App-spezifische Passwörter“.',
    'Coming later: not available in this installation yet.':
        'Folgt später: in dieser Installation noch nicht verfügbar.',
    'Connect {provider}': '{provider} verbinden',
    'Connection works': 'Verbindung funktioniert',
    'Copy the password shown (four groups of letters, like abcd-efgh-ijkl-mnop) into the '
    'password field here.':
        'Kopieren Sie das angezeigte Passwort (vier Buchstabengruppen wie abcd-efgh-ijkl-mnop) '
        'hier in das Passwortfeld.',
    'EWS URL or e-mail address for autodiscover': 'EWS-URL oder E-Mail-Adresse für Autodiscover',
    'Enter a new password': 'Neues Passwort eingeben',
    'Enter the EWS address of your Exchange Server. It usually looks like this:':
        'Geben Sie die EWS-Adresse Ihres Exchange Servers ein. Sie sieht meist so aus:',
    "Enter the address your calendar app uses for this server. Usually the server's name is "
    'enough; this bridge finds the calendars from there. Examples:':
        'Geben Sie die Adresse ein, die Ihre Kalender-App für diesen Server nutzt. Meist genügt '
        'der Name des Servers; die Kalender werden von dort aus gefunden. Beispiele:',
    'Enter the new password. The chosen calendar and the synchronisation state are kept.':
        'Geben Sie das neue Passwort ein. Der gewählte Kalender und der Synchronisationsstand '
        'bleiben erhalten.',
    'Enter the server address, the user name and the password.':
        'Geben Sie die Serveradresse, den Benutzernamen und das Passwort ein.',
    'Exchange Server': 'Exchange Server',
    'Exchange Server in your own network': 'Exchange Server im eigenen Netz',
    "For example https://mail.example.com/EWS/Exchange.asmx, or the mailbox's e-mail address to "
    'let autodiscover find the server.':
        'Zum Beispiel https://mail.example.com/EWS/Exchange.asmx, oder die E-Mail-Adresse des '
        'Postfachs, damit Autodiscover den Server findet.',
    'Found by autodiscover': 'Per Autodiscover gefunden',
    'Google and Microsoft send you to their page to choose the account and allow access; iCloud, '
    'CalDAV servers and Exchange ask for the server, user name and password here. Nothing is '
    'synchronised before you have chosen a calendar and confirmed.':
        'Google und Microsoft leiten Sie auf ihre Seite weiter, um das Konto zu wählen und den '
        'Zugriff zu erlauben; für iCloud, CalDAV-Server und Exchange geben Sie hier Server, '
        'Benutzernamen und Passwort ein. Synchronisiert wird erst, wenn Sie einen Kalender '
        'gewählt und bestätigt haben.',
    'If your provider offers app passwords (Nextcloud, Fastmail), create one for this bridge '
    'instead of using your main password.':
        'Wenn Ihr Anbieter App-Passwörter anbietet (Nextcloud, Fastmail), erstellen Sie dafür '
        'eines, statt Ihr Hauptpasswort zu verwenden.',
    'Leave it as it is: iCloud finds your calendars from there.':
        'Unverändert lassen: iCloud findet Ihre Kalender von dort aus.',
    'Mailbox': 'Postfach',
    'Microsoft 365 / Exchange Online?': 'Microsoft 365 / Exchange Online?',
    'Next: choose calendar': 'Weiter: Kalender wählen',
    'No calendar server found at this address':
        'Unter dieser Adresse wurde kein Kalenderserver gefunden',
    'Nothing was stored. For safety the password has to be entered again.':
        'Es wurde nichts gespeichert. Aus Sicherheitsgründen muss das Passwort erneut eingegeben '
        'werden.',
    'Only calendars for appointments are offered (not reminders). The app-specific password '
    "gives access to the whole account's calendars: revoke it on the same page when you "
    'disconnect.':
        'Angeboten werden nur Terminkalender (keine Erinnerungen). Das app-spezifische Passwort '
        'gibt Zugriff auf alle Kalender des Kontos: Widerrufen Sie es auf derselben Seite, wenn '
        'Sie die Verbindung trennen.',
    'Open {url} and sign in with your Apple ID.':
        'Öffnen Sie {url} und melden Sie sich mit Ihrer Apple-ID an.',
    "Or enter the mailbox's e-mail address: then autodiscover looks the server up. The user name "
    'is usually DOMAIN\\user or the e-mail address; ask your IT which authentication method '
    '(NTLM or Basic) the server accepts.':
        'Oder geben Sie die E-Mail-Adresse des Postfachs ein: Dann sucht Autodiscover den '
        'Server. Der Benutzername ist meist DOMÄNE\\benutzer oder die E-Mail-Adresse; fragen Sie '
        'Ihre IT, welches Anmeldeverfahren (NTLM oder Basic) der Server annimmt.',
    'Other CalDAV server': 'Anderer CalDAV-Server',
    'Principal': 'Principal',
    'Server': 'Server',
    'Server URL': 'Server-URL',
    'Server login': 'Server-Anmeldung',
    'Server software': 'Server-Software',
    'Server version': 'Server-Version',
    'Signed in at {provider} as {account}.': 'Bei {provider} angemeldet als {account}.',
    'Signing in with an app-specific password': 'Anmelden mit einem app-spezifischen Passwort',
    'Some fields are empty': 'Einige Felder sind leer',
    'Stops the synchronisation and deletes the stored Apple ID and app-specific password. Then '
    'revoke the app-specific password yourself at {url} under Sign-In and Security → '
    'App-Specific Passwords. Appointments stay here and in iCloud.':
        'Beendet die Synchronisation und löscht die gespeicherte Apple-ID und das '
        'app-spezifische Passwort. Widerrufen Sie danach das app-spezifische Passwort selbst '
        'unter {url} bei „Anmeldung und Sicherheit“ → „App-spezifische Passwörter“. Die Termine '
        'bleiben hier und in iCloud erhalten.',
    'Stops the synchronisation and deletes the stored user name and password. Appointments stay '
    'here and in {provider}.':
        'Beendet die Synchronisation und löscht den gespeicherten Benutzernamen und das '
        'Passwort. Die Termine bleiben hier und in {provider} erhalten.',
    'Test connection': 'Verbindung testen',
    'The address answered, but no calendars were found there. Check the URL: many servers need '
    'the full CalDAV path, for example https://cloud.example.com/remote.php/dav for Nextcloud.':
        'Die Adresse hat geantwortet, aber dort wurden keine Kalender gefunden. Prüfen Sie die '
        'URL: Viele Server brauchen den vollständigen CalDAV-Pfad, bei Nextcloud zum Beispiel '
        'https://cloud.example.com/remote.php/dav.',
    "The address is one of this bridge's own calendars, or a calendar that is already the source "
    'of another connection. Synchronising it would copy every appointment back and forth. Choose '
    'a calendar of another server.':
        'Die Adresse ist ein Kalender dieser Bridge selbst oder ein Kalender, der schon Quelle '
        'einer anderen Verbindung ist. Eine Synchronisation würde jeden Termin hin und her '
        'kopieren. Wählen Sie einen Kalender eines anderen Servers.',
    'The address of the CalDAV server or of your calendars there.':
        'Die Adresse des CalDAV-Servers oder Ihrer Kalender dort.',
    'The connection test failed': 'Der Verbindungstest ist fehlgeschlagen',
    'The name could not be resolved, the connection was refused or it timed out. Check the '
    'address and try again later; a server in a private network must be reachable from this '
    'bridge.':
        'Der Name konnte nicht aufgelöst werden, die Verbindung wurde abgelehnt oder lief in '
        'eine Zeitüberschreitung. Prüfen Sie die Adresse und versuchen Sie es später erneut; ein '
        'Server in einem privaten Netz muss von dieser Bridge aus erreichbar sein.',
    'The password is stored encrypted and used only to synchronise this calendar.':
        'Das Passwort wird verschlüsselt gespeichert und nur für die Synchronisation dieses '
        'Kalenders verwendet.',
    'The server answered in a way this bridge does not understand. Check the address; the detail '
    'below may help the operator.':
        'Der Server hat auf eine Weise geantwortet, die diese Bridge nicht versteht. Prüfen Sie '
        'die Adresse; die Angabe unten kann dem Betreiber helfen.',
    'The server cannot be reached': 'Der Server ist nicht erreichbar',
    'The server is fetched by this bridge, so addresses in the local network, loopback and '
    'link-local addresses are refused unless the operator allows them in the configuration. Use '
    "the server's public address, or ask the operator to allow the range of your own server.":
        'Der Server wird von dieser Bridge abgerufen, deshalb werden Adressen im lokalen Netz, '
        'Loopback- und Link-Local-Adressen abgelehnt, sofern der Betreiber sie nicht in der '
        'Konfiguration erlaubt. Verwenden Sie die öffentliche Adresse des Servers oder bitten '
        'Sie den Betreiber, den Adressbereich Ihres eigenen Servers zu erlauben.',
    'The server refused the sign-in. Check the user name and the password.':
        'Der Server hat die Anmeldung abgelehnt. Prüfen Sie Benutzernamen und Passwort.',
    'The server refused the sign-in. Check the user name, the password and the authentication '
    'method (NTLM or Basic).':
        'Der Server hat die Anmeldung abgelehnt. Prüfen Sie Benutzernamen, Passwort und '
        'Anmeldeverfahren (NTLM oder Basic).',
    "The server's TLS certificate is not valid for this address, has expired or is not signed by "
    'a trusted authority. A self-signed certificate must be made trusted by the operator in the '
    'configuration.':
        'Das TLS-Zertifikat des Servers gilt nicht für diese Adresse, ist abgelaufen oder nicht '
        'von einer vertrauenswürdigen Stelle signiert. Ein selbst signiertes Zertifikat muss der '
        'Betreiber in der Konfiguration als vertrauenswürdig eintragen.',
    "The server's certificate was refused": 'Das Zertifikat des Servers wurde abgelehnt',
    'The Exchange server has moved its EWS address (it redirects to {url}). Connect again: '
    'autodiscover then finds the new address.':
        'Der Exchange-Server hat seine EWS-Adresse geändert (er leitet nach {url} weiter). '
        'Verbinden Sie erneut: Autodiscover findet dann die neue Adresse.',
    'Autodiscover found no Exchange server': 'Autodiscover hat keinen Exchange-Server gefunden',
    'No autodiscover service answered for the domain of this e-mail address (the domain itself, '
    'autodiscover.domain, its HTTP redirect and the DNS SRV record were tried). Enter the EWS URL '
    'instead, for example https://mail.example.com/EWS/Exchange.asmx; your IT knows it.':
        'Für die Domain dieser E-Mail-Adresse hat kein Autodiscover-Dienst geantwortet (versucht '
        'wurden die Domain selbst, autodiscover.domain, dessen HTTP-Weiterleitung und der '
        'DNS-SRV-Eintrag). Geben Sie stattdessen die EWS-URL ein, zum Beispiel '
        'https://mail.example.com/EWS/Exchange.asmx; Ihre IT kennt sie.',
    'This mailbox is in Microsoft 365 (Exchange Online)':
        'Dieses Postfach liegt in Microsoft 365 (Exchange Online)',
    'Autodiscover leads to Exchange Online, where Microsoft is switching EWS off. Connect this '
    'mailbox with the Outlook / Microsoft 365 provider instead.':
        'Autodiscover führt zu Exchange Online, wo Microsoft EWS abschaltet. Verbinden Sie dieses '
        'Postfach stattdessen über den Anbieter Outlook / Microsoft 365.',
    'Autodiscover pointed to a server of another domain':
        'Autodiscover verweist auf einen Server einer anderen Domain',
    "For safety the password is only sent to servers of the e-mail address's domain, and "
    'autodiscover named another one (see below). If that server really is yours, enter its EWS '
    'URL instead.':
        'Aus Sicherheitsgründen wird das Passwort nur an Server der Domain der E-Mail-Adresse '
        'gesendet, Autodiscover hat aber einen anderen genannt (siehe unten). Wenn dieser Server '
        'wirklich Ihrer ist, geben Sie stattdessen seine EWS-URL ein.',
    'The sign-in worked, but the account has no calendar for appointments it may change. Nothing '
    'was stored.':
        'Die Anmeldung hat funktioniert, aber das Konto hat keinen Terminkalender, den es ändern '
        'darf. Es wurde nichts gespeichert.',
    'This address is not allowed': 'Diese Adresse ist nicht erlaubt',
    "The server's answer was too large": 'Die Antwort des Servers war zu groß',
    "The address answered with more data than this bridge reads from a calendar server (64 MB "
    "in one answer, a protection against servers that never stop sending). Check that the "
    "address names the calendar server itself, not a download or a web page.":
        'Die Adresse hat mit mehr Daten geantwortet, als diese Brücke von einem '
        'Kalenderserver liest (64 MB in einer Antwort, ein Schutz vor Servern, die nicht '
        'aufhören zu senden). Prüfen Sie, ob die Adresse den Kalenderserver selbst nennt, '
        'nicht einen Download oder eine Webseite.',
    'This calendar is connected to another provider. Disconnect it first.':
        'Dieser Kalender ist mit einem anderen Anbieter verbunden. Trennen Sie ihn zuerst.',
    'This is only for an Exchange Server you run yourself. Mailboxes in Microsoft 365 (Exchange '
    'Online) belong to the Outlook / Microsoft 365 provider: Microsoft switches EWS off in '
    'Exchange Online in April 2027.':
        'Dies ist nur für einen selbst betriebenen Exchange Server. Postfächer in Microsoft 365 '
        '(Exchange Online) gehören zum Anbieter Outlook / Microsoft 365: Microsoft schaltet EWS '
        'in Exchange Online im April 2027 ab.',
    'This would connect a calendar to itself': 'Damit würde ein Kalender mit sich selbst verbunden',
    'Two-way with a calendar on any CalDAV server: Nextcloud, Fastmail, mailbox.org, Posteo, '
    'Radicale, SOGo, Baïkal and others.':
        'In beide Richtungen mit einem Kalender auf einem beliebigen CalDAV-Server: Nextcloud, '
        'Fastmail, mailbox.org, Posteo, Radicale, SOGo, Baïkal und andere.',
    'Two-way with a calendar on your own Exchange Server (2016, 2019, Subscription Edition). '
    'Microsoft 365 goes through Outlook / Microsoft 365.':
        'In beide Richtungen mit einem Kalender auf Ihrem eigenen Exchange Server (2016, 2019, '
        'Subscription Edition). Microsoft 365 läuft über Outlook / Microsoft 365.',
    'Two-way with the calendars of an Apple ID (iPhone, iPad, Mac), signed in with an '
    'app-specific password.':
        'In beide Richtungen mit den Kalendern einer Apple-ID (iPhone, iPad, Mac), angemeldet '
        'mit einem app-spezifischen Passwort.',
    'Use Outlook / Microsoft 365 instead': 'Stattdessen Outlook / Microsoft 365 verwenden',
    'User name (DOMAIN\\user or e-mail address)':
        'Benutzername (DOMÄNE\\benutzer oder E-Mail-Adresse)',
    'User name: the e-mail address of your Apple ID. Server URL: keep {url}.':
        'Benutzername: die E-Mail-Adresse Ihrer Apple-ID. Server-URL: {url} beibehalten.',
    'Which address?': 'Welche Adresse?',
    'Wrong Apple ID or app-specific password': 'Apple-ID oder app-spezifisches Passwort ist falsch',
    'Wrong user name or password': 'Benutzername oder Passwort ist falsch',
    'iCloud lets other apps use its calendars only with an app-specific password. Your normal '
    'Apple ID password does not work here when two-factor authentication is on, as it is for '
    'every current Apple ID.':
        'iCloud lässt andere Apps nur mit einem app-spezifischen Passwort auf seine Kalender '
        'zugreifen. Ihr normales Apple-ID-Passwort funktioniert hier nicht, wenn die '
        'Zwei-Faktor-Authentifizierung aktiv ist, wie bei jeder aktuellen Apple-ID.',
    "iCloud refused the sign-in. Use your Apple ID's e-mail address and an app-specific "
    'password; your normal Apple ID password does not work here. See the steps beside the form.':
        'iCloud hat die Anmeldung abgelehnt. Verwenden Sie die E-Mail-Adresse Ihrer Apple-ID und '
        'ein app-spezifisches Passwort; Ihr normales Apple-ID-Passwort funktioniert hier nicht. '
        'Siehe die Schritte neben dem Formular.',
    'no, read only': 'nein, nur lesbar',
    'yes': 'ja',
    '{provider} is connected again, but the account may no longer change the calendar "{name}". '
    'Check the account, or disconnect and connect again.':
        '{provider} ist wieder verbunden, aber das Konto darf den Kalender „{name}“ nicht mehr '
        'ändern. Prüfen Sie das Konto oder trennen Sie die Verbindung und verbinden Sie neu.',
    '{provider} was disconnected and the stored user name and password were deleted. The '
    'appointments stay here.':
        '{provider} wurde getrennt, der gespeicherte Benutzername und das Passwort wurden '
        'gelöscht. Die Termine bleiben hier erhalten.',
    "Calendars": "Kalender",
    "sync-collection (only changes are fetched)": "sync-collection (nur Änderungen werden geholt)",
    "ctag and ETags (the listing is compared at every poll)":
        "ctag und ETags (die Liste wird bei jeder Abfrage verglichen)",
    "{provider} no longer accepts the stored password (it was changed, or the app-specific "
    "password was revoked). Changes made here are kept and sent as soon as you enter the new "
    "password.":
        "{provider} akzeptiert das gespeicherte Passwort nicht mehr (es wurde geändert oder das "
        "app-spezifische Passwort widerrufen). Hier gemachte Änderungen bleiben erhalten und "
        "werden gesendet, sobald Sie das neue Passwort eingeben.",
    "not offered by {provider}: checked for changes every {n} minutes":
        "von {provider} nicht angeboten: Änderungen werden alle {n} Minuten abgefragt",
    "NTLM": "NTLM",
    "Basic": "Basic",
    # Calendar view
    "Week": "Woche",
    "Day": "Tag",
    "Month": "Monat",
    "Agenda": "Terminliste",
    "Week {n}": "KW {n}",
    "Today": "Heute",
    "Previous": "Zurück",
    "View": "Ansicht",
    "Calendar navigation": "Kalendernavigation",
    "Time zone": "Zeitzone",
    "New appointment": "Neuer Termin",
    "read only": "nur lesen",
    "all day": "ganztägig",
    "(no title)": "(ohne Titel)",
    "+{n} more": "+{n} weitere",
    "No appointments in these two weeks.": "Keine Termine in diesen zwei Wochen.",
    "There is no calendar you may see yet.": "Es gibt noch keinen Kalender, den Sie sehen dürfen.",
    "Click a free time to book. Drag an appointment to move it, drag its lower edge to change "
    "its length. With the keyboard: focus an appointment, then Alt+arrow keys move it (up/down "
    "15 minutes, left/right one day), Alt+Shift+up/down change its length; Enter opens the "
    "form.":
        "Klicken Sie auf eine freie Zeit, um zu buchen. Ziehen Sie einen Termin, um ihn zu "
        "verschieben, und seinen unteren Rand, um die Dauer zu ändern. Mit der Tastatur: Termin "
        "fokussieren, dann verschieben Alt+Pfeiltasten ihn (hoch/runter 15 Minuten, links/rechts "
        "einen Tag), Alt+Umschalt+hoch/runter ändern die Dauer; Eingabe öffnet das Formular.",
    "Phone (CalDAV)": "Telefon (CalDAV)",
    "Booking API": "Buchungs-API",
    "Calendar view": "Kalenderansicht",
    "Booking page": "Buchungsseite",
    "Other": "Sonstige",
    "In sync": "Synchron",
    "Waiting": "Wartet",
    "Conflict": "Konflikt",
    "Failed": "Fehlgeschlagen",
    "Not synchronised": "Nicht synchronisiert",
    "outside the working hours": "außerhalb der Arbeitszeit",
    "overlaps another appointment": "überschneidet sich mit einem anderen Termin",
    "This time is not free: {reasons}.": "Diese Zeit ist nicht frei: {reasons}.",
    "Book anyway": "Trotzdem buchen",
    "Book anyway: I know this time is not free (recorded in the ledger)":
        "Trotzdem buchen: Ich weiß, dass diese Zeit nicht frei ist (wird im Protokoll "
        "vermerkt)",
    "Conflicts with": "Überschneidet sich mit",
    "Free times nearby": "Freie Zeiten in der Nähe",
    "Move to": "Verschieben auf",
    "Cancel": "Abbrechen",
    "Delete": "Löschen",
    "Delete this appointment?": "Diesen Termin löschen?",
    "Customer": "Kunde",
    "Date": "Datum",
    "From": "Von",
    "To": "Bis",
    "E-mail": "E-Mail",
    "Phone": "Telefon",
    "Notes": "Notizen",
    "Ledger entries": "Protokolleinträge",
    "Only this one": "Nur diesen Termin",
    "The whole series": "Die ganze Serie",
    "This appointment repeats. Change only this one or the whole series?":
        "Dieser Termin wiederholt sich. Nur diesen Termin oder die ganze Serie ändern?",
    "Give a valid start and end time.": "Bitte geben Sie gültige Anfangs- und Endzeiten an.",
    "The appointment could not be saved: {reason}":
        "Der Termin konnte nicht gespeichert werden: {reason}",
    "The appointment no longer exists.": "Den Termin gibt es nicht mehr.",
    "The appointment was changed meanwhile. Reload and try again.":
        "Der Termin wurde inzwischen geändert. Bitte neu laden und erneut versuchen.",
    "The change could not be saved.": "Die Änderung konnte nicht gespeichert werden.",
    "Appointment saved.": "Termin gespeichert.",
    "Appointment deleted.": "Termin gelöscht.",
    "The e-mail address is not valid.": "Die E-Mail-Adresse ist nicht gültig.",
    # Stored sync texts (bridge/admin/messages.py)
    "The {provider} sign-in was revoked or has expired. Connect again.":
        "Die Anmeldung bei {provider} wurde widerrufen oder ist abgelaufen. Bitte verbinden "
        "Sie erneut.",
    "The sign-in was revoked or has expired. Connect again.":
        "Die Anmeldung wurde widerrufen oder ist abgelaufen. Bitte verbinden Sie erneut.",
    "The stored sign-in could not be read ({reason}). Connect again.":
        "Die gespeicherte Anmeldung konnte nicht gelesen werden ({reason}). Bitte verbinden "
        "Sie erneut.",
    "Changed on both sides; the change in this calendar is newer.":
        "Auf beiden Seiten geändert; die Änderung in diesem Kalender ist neuer.",
    "Changed on both sides; the change in {provider} is newer.":
        "Auf beiden Seiten geändert; die Änderung in {provider} ist neuer.",
    "Deleted in this calendar, changed in {provider}.":
        "In diesem Kalender gelöscht, in {provider} geändert.",
    "Deleted in {provider}, changed in this calendar.":
        "In {provider} gelöscht, in diesem Kalender geändert.",
    "{provider} would delete {n} of {total} linked appointments ({held} of them held from "
    "earlier synchronisations).":
        "{provider} würde {n} von {total} verknüpften Terminen löschen ({held} davon aus "
        "früheren Synchronisationen zurückgehalten).",
    "{provider} would delete {n} of {total} linked appointments.":
        "{provider} würde {n} von {total} verknüpften Terminen löschen.",
    "{provider} returned an empty calendar, but {n} appointments are linked.":
        "{provider} hat einen leeren Kalender geliefert, aber {n} Termine sind verknüpft.",
    "{provider} refused the sign-in: {error}": "{provider} hat die Anmeldung abgelehnt: {error}",
    # The booking page (bridge/bookpage) and its settings (admin/views_booking.py).
    "A confirmation has been sent to {email}. It contains a link to cancel or move the "
    "appointment.": "Eine Bestätigung wurde an {email} gesendet. Sie enthält einen Link, mit dem "
                    "Sie den Termin absagen oder verschieben können.",
    "An entry is too long.": "Eine Eingabe ist zu lang.",
    "Book a new appointment": "Neuen Termin buchen",
    "Book an appointment": "Termin buchen",
    "Book now": "Jetzt buchen",
    "Bookable days ahead": "Buchbare Tage im Voraus",
    "Booking page on": "Buchungsseite eingeschaltet",
    "Cancel appointment": "Termin absagen",
    "Customers book free times of a calendar online, without an account: they pick a service "
    "duration and a free slot inside the working hours and get a confirmation e-mail with a "
    "link to cancel or move the appointment. Bookings pass the same booking rules as the API "
    "and reach the connected calendar at once. The page is off until you switch it on.":
        "Kundinnen und Kunden buchen freie Zeiten eines Kalenders online, ohne Konto: Sie wählen "
        "eine Leistungsdauer und einen freien Termin innerhalb der Arbeitszeiten und erhalten "
        "eine Bestätigung per E-Mail mit einem Link zum Absagen oder Verschieben. Buchungen "
        "durchlaufen dieselben Buchungsregeln wie die API und erscheinen sofort im verbundenen "
        "Kalender. Die Seite ist aus, bis Sie sie einschalten.",
    "Enter the durations as minutes separated by commas, horizon and lead time as whole "
    "numbers.": "Geben Sie die Dauern als Minuten mit Kommas getrennt an, Vorlauf und "
                "Zeitraum als ganze Zahlen.",
    "Language": "Sprache",
    "Minimum notice (minutes)": "Mindestvorlauf (Minuten)",
    "Move to another time": "Auf eine andere Zeit verschieben",
    "Name": "Name",
    "New address": "Neue Adresse",
    "New address made: the old booking page address no longer works.":
        "Neue Adresse erstellt: Die alte Adresse der Buchungsseite funktioniert nicht mehr.",
    "Next day": "Nächster Tag",
    "No free times on this day. Please try another day.":
        "An diesem Tag ist nichts mehr frei. Bitte wählen Sie einen anderen Tag.",
    "Not saved: {reason}": "Nicht gespeichert: {reason}",
    "Please check your entries.": "Bitte prüfen Sie Ihre Eingaben.",
    "Please choose a time.": "Bitte wählen Sie eine Uhrzeit.",
    "Please enter a valid e-mail address.": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
    "Please enter a valid phone number (digits, spaces, + ( ) / . -).":
        "Bitte geben Sie eine gültige Telefonnummer ein (Ziffern, Leerzeichen, + ( ) / . -).",
    "Please enter your name (at most 200 characters).":
        "Bitte geben Sie Ihren Namen ein (höchstens 200 Zeichen).",
    "Please try again.": "Bitte versuchen Sie es noch einmal.",
    "Previous day": "Vorheriger Tag",
    "Service duration": "Dauer der Leistung",
    "Service durations (minutes, comma-separated)": "Leistungsdauern (Minuten, mit Kommas)",
    "Someone else has just booked this time. Please choose another time.":
        "Diese Zeit wurde gerade von jemand anderem gebucht. Bitte wählen Sie eine andere Zeit.",
    "Sorry": "Das hat leider nicht geklappt",
    "The appointment changed meanwhile. Please open the link again.":
        "Der Termin wurde inzwischen geändert. Bitte öffnen Sie den Link noch einmal.",
    "The booking page is off.": "Die Buchungsseite ist ausgeschaltet.",
    "The booking page is on.": "Die Buchungsseite ist eingeschaltet.",
    "The form could not be read.": "Das Formular konnte nicht gelesen werden.",
    "The form expired or came from another site. Reload the page and try again.":
        "Das Formular ist abgelaufen oder kam von einer anderen Website. Laden Sie die Seite neu "
        "und versuchen Sie es noch einmal.",
    "The form is too large.": "Das Formular ist zu groß.",
    "This appointment cannot be changed online.":
        "Dieser Termin kann nicht online geändert werden.",
    "This appointment was cancelled or no longer exists.":
        "Dieser Termin wurde abgesagt oder existiert nicht mehr.",
    "This booking page does not exist or is switched off.":
        "Diese Buchungsseite gibt es nicht oder sie ist ausgeschaltet.",
    "This day cannot be booked.": "Dieser Tag kann nicht gebucht werden.",
    "This is not a valid date.": "Das ist kein gültiges Datum.",
    "This is not a valid time.": "Das ist keine gültige Uhrzeit.",
    "This link has expired. Please contact us to change your appointment.":
        "Dieser Link ist abgelaufen. Bitte wenden Sie sich an uns, um Ihren Termin zu ändern.",
    "This link is not valid. Please use the link from your e-mail.":
        "Dieser Link ist ungültig. Bitte verwenden Sie den Link aus Ihrer E-Mail.",
    "This page does not exist.": "Diese Seite gibt es nicht.",
    "This service duration is not offered.": "Diese Dauer wird nicht angeboten.",
    "This time is in the past. Please choose another time.":
        "Diese Zeit liegt in der Vergangenheit. Bitte wählen Sie eine andere Zeit.",
    "This time is not offered. Please choose another time.":
        "Diese Zeit wird nicht angeboten. Bitte wählen Sie eine andere Zeit.",
    "Times in {zone}": "Uhrzeiten in {zone}",
    "Too many attempts. Please wait a moment and try again.":
        "Zu viele Versuche. Bitte warten Sie einen Moment und versuchen Sie es dann noch einmal.",
    "We use your details only for this appointment and send you a confirmation by e-mail.":
        "Wir verwenden Ihre Angaben nur für diesen Termin und senden Ihnen eine Bestätigung per "
        "E-Mail.",
    "You will receive a new confirmation by e-mail.":
        "Sie erhalten eine neue Bestätigung per E-Mail.",
    "Your appointment": "Ihr Termin",
    "Your appointment has been cancelled": "Ihr Termin wurde abgesagt",
    "Your appointment has been moved": "Ihr Termin wurde verschoben",
    "Your appointment is booked": "Ihr Termin ist gebucht",
    "Your details": "Ihre Angaben",
    "off": "aus",
    "on": "an",
    "{n} minutes": "{n} Minuten",
}
