//! text: the console's own words (labels, headings, buttons) in English and
//! French. What a policy says (refusals, notices) is the pack's, never here.

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    /// Every language, in the order the switch shows them.
    pub(crate) const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The language's own name, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            _ => None,
        }
    }

    /// The first language of an `Accept-Language` header the console speaks.
    pub(crate) fn from_accept(header: &str) -> Option<Lang> {
        header
            .split(',')
            .filter_map(|part| part.split(';').next())
            .filter_map(|tag| Lang::parse(tag.split('-').next().unwrap_or("")))
            .next()
    }

    /// A text of the pack's (a policy's message, a notice) in this language,
    /// else in English, else in any.
    pub(crate) fn pick(self, m: &crate::policy::Messages) -> &str {
        m.get(self.code())
            .or_else(|| m.get("en"))
            .or_else(|| m.0.values().next().map(String::as_str))
            .unwrap_or("")
    }

    /// The console's text for `key` (the key itself if it has none, which a
    /// test forbids).
    pub fn t(self, key: &str) -> &'static str {
        match TEXTS.iter().find(|(k, _, _)| *k == key) {
            Some((_, en, fr)) => match self {
                Lang::En => en,
                Lang::Fr => fr,
            },
            None => "?",
        }
    }
}

/// `(key, English, French)`.
pub(crate) const TEXTS: &[(&str, &str, &str)] = &[
    ("product", "turnstile console", "console turnstile"),
    ("nav_tenants", "Tenants", "Clients"),
    ("nav_playground", "Decision playground", "Banc d'essai"),
    ("nav_policies", "Policies", "Règles"),
    ("nav_log", "Decision log", "Journal des décisions"),
    ("logout", "Log out", "Se déconnecter"),
    ("login_title", "Log in", "Connexion"),
    (
        "login_intro",
        "Enter the service's admin token to open the console.",
        "Saisissez le jeton d'administration du service pour ouvrir la console.",
    ),
    ("login_token", "Admin token", "Jeton d'administration"),
    ("login_button", "Log in", "Se connecter"),
    (
        "login_wrong",
        "That token is not the admin token.",
        "Ce jeton n'est pas le jeton d'administration.",
    ),
    ("not_found", "Nothing here", "Rien ici"),
    ("back_to_tenants", "Back to the tenants", "Retour aux clients"),
    ("search", "Search", "Rechercher"),
    (
        "search_tenants",
        "Tenant id or name",
        "Identifiant ou nom du client",
    ),
    ("tenant", "Tenant", "Client"),
    ("account", "Account", "Compte"),
    ("state", "State", "État"),
    ("seats_user", "User seats", "Licences utilisateur"),
    ("seats_shop_floor", "Shop-floor seats", "Postes atelier"),
    ("notices", "Notices", "Avis"),
    ("none", "none", "aucun"),
    ("next_page", "Next page", "Page suivante"),
    ("first_page", "First page", "Première page"),
    ("no_tenants", "No tenant matches.", "Aucun client ne correspond."),
    ("state_trial", "trial", "essai"),
    ("state_provisioned", "provisioned", "en service"),
    ("state_locked", "locked", "bloqué"),
    ("days_left", "days left", "jours restants"),
    ("used_of", "used of", "utilisés sur"),
    ("free", "free", "libres"),
    (
        "no_shop_floor",
        "no shop-floor subscription",
        "pas d'abonnement atelier",
    ),
    ("in_force", "In force now", "En vigueur"),
    ("hub", "Hub", "Hub"),
    ("no_hub", "no hub yet", "pas encore de hub"),
    ("trial_ends", "Trial ends", "Fin de l'essai"),
    ("subscriptions", "Subscriptions", "Abonnements"),
    ("number", "Number", "Numéro"),
    ("kind", "Kind", "Type"),
    ("quantity", "Quantity", "Quantité"),
    ("starts", "Starts", "Début"),
    ("ends", "Ends", "Fin"),
    ("payment_due", "Payment due", "Paiement dû"),
    ("paid", "Paid", "Payé"),
    ("mark_paid", "Mark paid", "Marquer payé"),
    ("kind_user", "user", "utilisateur"),
    ("kind_shop_floor", "shop floor", "atelier"),
    ("kind_seat", "seat", "poste"),
    ("sub_active", "active", "actif"),
    ("sub_overdue", "overdue", "en retard"),
    ("sub_locked", "locked", "bloqué"),
    ("sub_ended", "ended", "terminé"),
    ("users", "Users", "Utilisateurs"),
    ("id", "Id", "Identifiant"),
    ("name", "Name", "Nom"),
    ("role", "Role", "Rôle"),
    ("active", "Active", "Actif"),
    ("licensed", "Licence", "Licence"),
    ("own_operator", "Own operator", "Opérateur propre"),
    ("assign_license", "Assign licence", "Attribuer la licence"),
    ("revoke_license", "Revoke licence", "Retirer la licence"),
    ("yes", "yes", "oui"),
    ("no", "no", "non"),
    ("operators", "Operators", "Opérateurs"),
    ("latest_production", "Last production", "Dernière production"),
    ("deactivate", "Deactivate", "Désactiver"),
    ("reactivate", "Reactivate", "Réactiver"),
    ("add_operator", "Add an operator", "Ajouter un opérateur"),
    ("add", "Add", "Ajouter"),
    (
        "reconciliation",
        "Reconciliation now (dry run)",
        "Rapprochement maintenant (simulation)",
    ),
    (
        "reconciliation_intro",
        "What reconciliation would deactivate if it ran now, in order, and why.",
        "Ce que le rapprochement désactiverait s'il s'exécutait maintenant, dans l'ordre, et pourquoi.",
    ),
    (
        "reconciliation_nothing",
        "Nothing: every active operator and licence has a seat.",
        "Rien : chaque opérateur et chaque licence actifs ont une place.",
    ),
    ("capacity", "capacity", "capacité"),
    ("in_use", "in use", "utilisés"),
    ("why", "Why", "Pourquoi"),
    ("licences_to_revoke", "Licences to revoke", "Licences à retirer"),
    (
        "operators_to_deactivate",
        "Operators to deactivate",
        "Opérateurs à désactiver",
    ),
    ("done_paid", "Payment recorded.", "Paiement enregistré."),
    ("done_license", "Licence changed.", "Licence modifiée."),
    ("done_operator", "Operator changed.", "Opérateur modifié."),
    ("done_added", "Operator added.", "Opérateur ajouté."),
    ("refused", "Refused", "Refusé"),
    ("policies_said", "Determining policies", "Règles déterminantes"),
    ("subject", "Subject", "Sujet"),
    ("action", "Action", "Action"),
    ("resource", "Resource", "Ressource"),
    ("type", "Type", "Type"),
    ("context", "Context (JSON)", "Contexte (JSON)"),
    (
        "subject_properties",
        "Subject properties (JSON)",
        "Propriétés du sujet (JSON)",
    ),
    (
        "resource_properties",
        "Resource properties (JSON)",
        "Propriétés de la ressource (JSON)",
    ),
    (
        "at_time",
        "At (RFC 3339, empty: now)",
        "À (RFC 3339, vide : maintenant)",
    ),
    ("decide", "Decide", "Décider"),
    ("decision", "Decision", "Décision"),
    ("allow", "allow", "autorisé"),
    ("deny", "deny", "refusé"),
    ("message", "Message", "Message"),
    (
        "explanation",
        "Explanation, condition by condition",
        "Explication, condition par condition",
    ),
    ("outcome", "Outcome", "Résultat"),
    ("clauses", "Conditions", "Conditions"),
    ("values_read", "Values read", "Valeurs lues"),
    (
        "slice",
        "The slice: entities the decision loaded",
        "La tranche : entités chargées pour la décision",
    ),
    ("copy_curl", "Copy as curl", "Copier en curl"),
    ("copied", "Copied", "Copié"),
    ("unknown", "Not evaluated", "Non évalué"),
    ("errors", "Errors", "Erreurs"),
    (
        "playground_intro",
        "Ask a decision as a service would, and see why it comes out the way it does.",
        "Posez une décision comme le ferait un service, et voyez pourquoi elle tombe ainsi.",
    ),
    ("bad_json", "is not a JSON object", "n'est pas un objet JSON"),
    ("pack", "Serving pack", "Ensemble de règles en service"),
    ("revision", "Revision", "Révision"),
    ("directory", "Directory", "Répertoire"),
    (
        "embedded",
        "built in (start with --policies DIR to edit)",
        "intégré (démarrez avec --policies DIR pour le modifier)",
    ),
    ("last_reload", "Files on disk", "Fichiers sur disque"),
    (
        "reload_ok",
        "The files on disk are the serving pack.",
        "Les fichiers sur disque sont l'ensemble en service.",
    ),
    (
        "reload_refused",
        "The files on disk are refused; the last good pack keeps serving. Since",
        "Les fichiers sur disque sont refusés ; le dernier ensemble valide reste en service. Depuis",
    ),
    ("warnings", "Warnings", "Avertissements"),
    ("file", "File", "Fichier"),
    ("files", "Files", "Fichiers"),
    ("lines", "lines", "lignes"),
    (
        "reload_embedded",
        "The built-in pack serves; there are no files to reload.",
        "L'ensemble intégré est en service ; il n'y a pas de fichiers à recharger.",
    ),
    ("line", "Line", "Ligne"),
    ("effect", "Effect", "Effet"),
    ("description", "Description", "Description"),
    ("policy", "Policy", "Règle"),
    ("impact", "Impact of an edit", "Impact d'une modification"),
    (
        "impact_intro",
        "Paste or upload a changed policy file: the logged decisions it would flip, and the scenarios whose recorded answers it would change. Nothing is saved or served.",
        "Collez ou chargez un fichier de règles modifié : les décisions journalisées qu'il inverserait, et les scénarios dont il changerait les réponses enregistrées. Rien n'est enregistré ni mis en service.",
    ),
    (
        "file_name",
        "File name in the pack",
        "Nom du fichier dans l'ensemble",
    ),
    ("file_text", "Its new text", "Son nouveau texte"),
    ("upload", "or upload a file", "ou chargez un fichier"),
    ("load_current", "Load the current text", "Charger le texte actuel"),
    ("check_impact", "Show the impact", "Voir l'impact"),
    (
        "candidate_refused",
        "The edited pack does not load:",
        "L'ensemble modifié ne se charge pas :",
    ),
    ("candidate", "Candidate revision", "Révision candidate"),
    (
        "replayed",
        "logged decisions replayed",
        "décisions journalisées rejouées",
    ),
    (
        "flips",
        "Decisions it would flip",
        "Décisions qu'elle inverserait",
    ),
    (
        "changed",
        "Answers it would change without a flip",
        "Réponses qu'elle changerait sans inversion",
    ),
    (
        "no_flips",
        "No logged decision would flip.",
        "Aucune décision journalisée ne serait inversée.",
    ),
    ("was", "Was", "Avant"),
    ("now", "Now", "Après"),
    ("changes", "Changes", "Changements"),
    ("scenarios", "Scenarios", "Scénarios"),
    (
        "scenarios_off",
        "No scenario folder is configured (serve --scenarios DIR).",
        "Aucun dossier de scénarios n'est configuré (serve --scenarios DIR).",
    ),
    (
        "scenarios_unchanged",
        "Every scenario keeps its recorded answers.",
        "Chaque scénario garde ses réponses enregistrées.",
    ),
    (
        "scenario_changes",
        "scenario files would change",
        "fichiers de scénarios changeraient",
    ),
    ("case", "Case", "Cas"),
    ("time", "Time", "Heure"),
    ("latency", "Latency", "Latence"),
    ("all", "all", "toutes"),
    ("filter", "Filter", "Filtrer"),
    (
        "open_playground",
        "Open in the playground",
        "Ouvrir dans le banc d'essai",
    ),
    (
        "log_off",
        "This node keeps no recent decisions (serve --recent-decisions N).",
        "Ce nœud ne garde pas de décisions récentes (serve --recent-decisions N).",
    ),
    (
        "log_empty",
        "No decision matches.",
        "Aucune décision ne correspond.",
    ),
    (
        "log_intro",
        "The latest decisions this node made, newest first.",
        "Les dernières décisions de ce nœud, les plus récentes d'abord.",
    ),
    ("source", "Source", "Source"),
    (
        "csrf",
        "This form has expired; reload the page and try again.",
        "Ce formulaire a expiré ; rechargez la page et réessayez.",
    ),
    ("server_time", "Rendered in", "Rendu en"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_said_once_in_both_languages() {
        let mut keys: Vec<&str> = TEXTS.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "a key is listed twice");
        for (k, en, fr) in TEXTS {
            assert!(!en.is_empty() && !fr.is_empty(), "`{k}` lacks a text");
        }
    }

    #[test]
    fn accept_language_picks_the_first_language_spoken() {
        assert_eq!(Lang::from_accept("fr-CH, fr;q=0.9, en;q=0.8"), Some(Lang::Fr));
        assert_eq!(Lang::from_accept("de, en-GB"), Some(Lang::En));
        assert_eq!(Lang::from_accept("de"), None);
    }
}
